using BpfPS.Core;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>
/// A BTF type as Get-BtfType returns it: a thin view over the core's shared, immutable <see cref="BtfType"/> that adds
/// what a person reads (member C types, the C declaration). Computed on first access, so streaming every type of
/// vmlinux costs no more than the types themselves.
/// </summary>
public sealed class BtfTypeInfo
{
    private IReadOnlyList<BtfMemberInfo>? _members;
    private string? _declaration;

    internal BtfTypeInfo(BtfType type) => Type = type;

    /// <summary>The core type (kind-specific details: encoding, element type, parameters, ...).</summary>
    public BtfType Type { get; }
    public uint Id => Type.Id;
    /// <summary>Name, or "" for anonymous types.</summary>
    public string Name => Type.Name;
    public BtfKind Kind => Type.Kind;
    /// <summary>Size in bytes: the type's own for sized kinds, else what it resolves to (typedef, array, pointer); null for kinds with no size.</summary>
    public uint? Size => Type.Size ?? ResolvedSize();
    /// <summary>Where the BTF came from (a path, or "vmlinux").</summary>
    public string Source => Type.Spec.Source;

    /// <summary>Struct and union members with their C types; empty for other kinds.</summary>
    public IReadOnlyList<BtfMemberInfo> Members => _members ??= DescribeMembers();

    /// <summary>Enumerators of an enum or enum64; empty for other kinds.</summary>
    public IReadOnlyList<BtfEnumValue> Values => Type is BtfEnum e ? e.Values : [];

    /// <summary>The type as a C declaration (a struct with its members, a typedef line, a function prototype).</summary>
    public string Declaration => _declaration ??= BtfTypeText.Declaration(Type);

    public override string ToString() => Type.ToString();

    private uint? ResolvedSize()
    {
        if (Type.Kind is not (BtfKind.Typedef or BtfKind.Array or BtfKind.Pointer or BtfKind.Const or BtfKind.Volatile
            or BtfKind.Restrict or BtfKind.TypeTag or BtfKind.Var))
            return null;
        try
        {
            return Type.Spec.SizeOf(Type.Id);
        }
        catch (BpfFormatException)
        {
            return null; // e.g. a typedef of a forward declaration: it has no size.
        }
    }

    private IReadOnlyList<BtfMemberInfo> DescribeMembers()
    {
        if (Type is not BtfComposite composite) return [];
        var members = new BtfMemberInfo[composite.Members.Length];
        for (var i = 0; i < members.Length; i++)
            members[i] = new BtfMemberInfo(Type.Spec, composite.Members[i]);
        return members;
    }
}
