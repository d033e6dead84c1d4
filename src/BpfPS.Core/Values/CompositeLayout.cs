using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>
/// One member of a struct, union or data section as a value sees it: anonymous struct/union members are already
/// flattened into their parent (C lets you write <c>s.x</c> for a member of an anonymous inner struct), offsets are
/// from the start of the outermost composite. <see cref="BitSize"/> is non-zero for bitfields.
/// </summary>
internal readonly record struct FlatMember(string Name, uint TypeId, uint BitOffset, uint BitSize)
{
    public bool IsBitfield => BitSize != 0;
}

/// <summary>
/// The flattened member list of a composite type, computed once per (spec, type id) and shared by every record decoded
/// from it, so a map of a million entries holds one name list, not a million.
/// </summary>
internal sealed class CompositeLayout
{
    /// <summary>Anonymous members nested deeper than this are treated as malformed BTF (a cycle).</summary>
    private const int MaxNesting = 32;

    private static readonly ConditionalWeakTable<BtfSpec, ConcurrentDictionary<uint, CompositeLayout>> s_cache = new();

    private CompositeLayout(string typeName, uint size, bool isUnion, ImmutableArray<FlatMember> members)
    {
        TypeName = typeName;
        Size = size;
        IsUnion = isUnion;
        Members = members;
        var names = new string[members.Length];
        var index = new Dictionary<string, int>(members.Length, StringComparer.Ordinal);
        var folded = new Dictionary<string, int>(members.Length, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < members.Length; i++)
        {
            names[i] = members[i].Name;
            index[members[i].Name] = i;
            folded.TryAdd(members[i].Name, i);   // PowerShell users type names in any case; the first spelling wins
        }
        Names = ImmutableArray.Create(names);
        _index = index.ToFrozenDictionary(StringComparer.Ordinal);
        _foldedIndex = folded.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    private readonly FrozenDictionary<string, int> _index;
    private readonly FrozenDictionary<string, int> _foldedIndex;

    /// <summary>"struct event", "union (anonymous)", "section .data".</summary>
    public string TypeName { get; }
    public uint Size { get; }
    public bool IsUnion { get; }
    public ImmutableArray<FlatMember> Members { get; }
    public ImmutableArray<string> Names { get; }

    public int IndexOf(string name) => _index.TryGetValue(name, out int i) ? i : -1;

    /// <summary>Exact match first, then a case-insensitive one.</summary>
    public int IndexOfIgnoreCase(string name) =>
        _index.TryGetValue(name, out int i) ? i : _foldedIndex.TryGetValue(name, out i) ? i : -1;

    /// <summary>The layout of struct/union/datasec <paramref name="typeId"/> (already stripped of typedefs and qualifiers).</summary>
    /// <exception cref="BpfFormatException">Members lie outside the type, names repeat, or anonymous nesting is too deep.</exception>
    public static CompositeLayout Get(BtfSpec spec, uint typeId) =>
        s_cache.GetValue(spec, _ => new ConcurrentDictionary<uint, CompositeLayout>())
            .GetOrAdd(typeId, static (id, s) => Build(s, id), spec);

    private static CompositeLayout Build(BtfSpec spec, uint typeId)
    {
        var type = spec.GetType(typeId);
        var members = ImmutableArray.CreateBuilder<FlatMember>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        switch (type)
        {
            case BtfComposite composite:
                Flatten(spec, composite, 0, members, seen, 0);
                return new CompositeLayout(BtfTypeDisplay.Describe(spec, typeId), composite.ByteSize, composite.IsUnion, members.ToImmutable());
            case BtfDatasec section:
                foreach (var variable in section.Variables)
                {
                    // A datasec can also list functions (.ksyms); only variables hold data.
                    if (spec.GetType(variable.TypeId) is not BtfVar v)
                        continue;
                    uint size = spec.SizeOf(v.TypeId);
                    if ((ulong)variable.Offset + size > section.ByteSize)
                        throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, typeId)}: variable '{v.Name}' at offset {variable.Offset} ({size} bytes) lies outside the {section.ByteSize}-byte section");
                    Add(spec, members, seen, new FlatMember(v.Name, v.TypeId, variable.Offset * 8, 0), typeId);
                }
                return new CompositeLayout(BtfTypeDisplay.Describe(spec, typeId), section.ByteSize, false, members.ToImmutable());
            default:
                throw new ArgumentException($"type [{typeId}] is a {type.Kind}, not a struct, union or data section", nameof(typeId));
        }
    }

    private static void Flatten(BtfSpec spec, BtfComposite composite, uint baseBits, ImmutableArray<FlatMember>.Builder members,
        HashSet<string> seen, int nesting)
    {
        if (nesting > MaxNesting)
            throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, composite.Id)}: anonymous members nest more than {MaxNesting} deep (a cycle?)");
        ulong sizeBits = (ulong)composite.ByteSize * 8;
        foreach (var member in composite.Members)
        {
            ulong offset = (ulong)baseBits + member.BitOffset;
            if (member.Name.Length == 0)
            {
                uint inner = spec.SkipModsAndTypedefs(member.TypeId);
                if (spec.GetType(inner) is BtfComposite nested)
                {
                    // Its members are checked against it, so it must lie whole inside this composite.
                    if (member.BitOffset % 8 != 0 || member.BitOffset / 8 + (ulong)nested.ByteSize > composite.ByteSize)
                        throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, composite.Id)}: anonymous {BtfTypeDisplay.Describe(spec, inner)} ({nested.ByteSize} bytes at bit {member.BitOffset}) lies outside the {composite.ByteSize}-byte type");
                    Flatten(spec, nested, (uint)offset, members, seen, nesting + 1);
                }
                // Anything else unnamed is padding (an unnamed bitfield such as "int :3"): it holds no value.
                continue;
            }
            if (member.BitOffset >= sizeBits && !(member.BitOffset == sizeBits && IsEmpty(spec, member)))
                throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, composite.Id)}: member '{member.Name}' at bit {member.BitOffset} lies outside the {composite.ByteSize}-byte type");
            if (member.BitfieldSize == 0 && member.BitOffset % 8 == 0)
            {
                // Whole-byte member: it must fit in its composite (flexible arrays have size 0 and fit anywhere up to the end).
                uint size = spec.SizeOf(member.TypeId);
                if (member.BitOffset / 8 + (ulong)size > composite.ByteSize)
                    throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, composite.Id)}: member '{member.Name}' ({size} bytes at offset {member.BitOffset / 8}) lies outside the {composite.ByteSize}-byte type");
            }
            else if (member.BitOffset + (ulong)member.BitfieldSize > sizeBits)
            {
                throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, composite.Id)}: bitfield '{member.Name}' ({member.BitfieldSize} bits at bit {member.BitOffset}) lies outside the {composite.ByteSize}-byte type");
            }
            Add(spec, members, seen, new FlatMember(member.Name, member.TypeId, (uint)offset, member.BitfieldSize), composite.Id);
        }
    }

    private static bool IsEmpty(BtfSpec spec, BtfMember member) => spec.SizeOf(member.TypeId) == 0;

    private static void Add(BtfSpec spec, ImmutableArray<FlatMember>.Builder members, HashSet<string> seen, FlatMember member, uint ownerId)
    {
        if (!seen.Add(member.Name))
            throw Malformed(spec, $"{BtfTypeDisplay.Describe(spec, ownerId)}: member name '{member.Name}' appears twice");
        members.Add(member);
    }

    private static BpfFormatException Malformed(BtfSpec spec, string message) => new(message, spec.Source, "BTF type section");
}
