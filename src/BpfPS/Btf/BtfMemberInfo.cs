using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>One struct or union member as Get-BtfType shows it: where it sits and what C type it has.</summary>
public sealed class BtfMemberInfo
{
    private readonly BtfSpec _spec;
    private string? _typeName;

    internal BtfMemberInfo(BtfSpec spec, in BtfMember member)
    {
        _spec = spec;
        Name = member.Name;
        TypeId = member.TypeId;
        BitOffset = member.BitOffset;
        BitfieldSize = member.BitfieldSize;
    }

    /// <summary>Member name ("" for an anonymous struct or union member).</summary>
    public string Name { get; }
    /// <summary>The member's type id; pipe members to Get-BtfType to get their types.</summary>
    public uint TypeId { get; }
    /// <summary>The member's type written as C (e.g. "struct list_head", "unsigned int", "char *").</summary>
    public string TypeName => _typeName ??= BtfTypeText.TypeName(_spec, TypeId);
    /// <summary>Offset from the start of the composite, in bits.</summary>
    public uint BitOffset { get; }
    /// <summary>Offset in whole bytes (BitOffset / 8).</summary>
    public uint Offset => BitOffset / 8;
    /// <summary>Width of a bitfield in bits, 0 when the member is not a bitfield.</summary>
    public byte BitfieldSize { get; }

    public override string ToString() => $"{TypeName} {Name}";
}
