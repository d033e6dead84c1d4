using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// One step of an access path that matters when matching against another BTF: a named member, or an array index
/// (Name null; the first step is always the index applied to the root, as if through a pointer).
/// </summary>
internal struct CoreAccessor
{
    /// <summary>For a member: the struct/union holding it. For an array step: the element type (modifiers skipped).</summary>
    public uint TypeId;
    public int Index;
    public string? Name;
}

/// <summary>
/// A relocation's access path resolved in one BTF (libbpf's bpf_core_spec): the high-level accessors (named members and
/// array indexes), the low-level raw path (every index, anonymous members included) and the bit offset it reaches.
/// Instances are scratch space reused across relocations, so a relocation allocates no spec of its own.
/// </summary>
internal sealed class CoreAccessSpec
{
    public const int MaxLength = 64;

    public readonly CoreAccessor[] Accessors = new CoreAccessor[MaxLength];
    public readonly int[] Raw = new int[MaxLength];

    public BtfSpec Btf = null!;
    public uint RootTypeId;
    public CoreRelocationKind Kind;
    public int Length;
    public int RawLength;
    public long BitOffset;

    public void Reset(BtfSpec btf, uint rootTypeId, CoreRelocationKind kind)
    {
        Btf = btf;
        RootTypeId = rootTypeId;
        Kind = kind;
        Length = 0;
        RawLength = 0;
        BitOffset = 0;
    }

    /// <summary>Drops references into a BTF so a cached spec does not keep it alive.</summary>
    public void Clear()
    {
        Reset(null!, 0, default);
        Array.Clear(Accessors);
    }

    public void PushRaw(int index)
    {
        if (RawLength == MaxLength)
            throw new CoreRelocationException($"access path nests deeper than {MaxLength} levels");
        Raw[RawLength++] = index;
    }

    public void PushAccessor(uint typeId, int index, string? name)
    {
        // Length never passes RawLength (each accessor consumes a raw step), so the raw check above bounds it.
        Accessors[Length++] = new CoreAccessor { TypeId = typeId, Index = index, Name = name };
    }

    /// <summary>
    /// Parses <paramref name="relocation"/>'s access string against <paramref name="btf"/> (libbpf's bpf_core_parse_spec).
    /// Type-based kinds take exactly "0"; enum-value kinds one enumerator index; field kinds "root:member/index:...".
    /// </summary>
    public void Parse(BtfSpec btf, in CoreRelocation relocation)
    {
        Reset(btf, relocation.TypeId, relocation.Kind);
        string access = relocation.AccessString ?? "";
        if (access.Length == 0 || access[0] == ':')
            throw new CoreRelocationException($"malformed access string \"{access}\"");
        if (Kind.IsTypeBased())
        {
            if (access != "0")
                throw new CoreRelocationException($"type-based relocation needs access string \"0\", not \"{access}\"");
            return;
        }
        ParseIndexes(access);

        var type = CoreBtf.SkipModsAndTypedefs(btf, relocation.TypeId, out uint id);
        int index = Raw[0];
        PushAccessor(id, index, null);

        if (Kind.IsEnumValueBased())
        {
            if (type is not BtfEnum enumType || RawLength > 1 || index >= enumType.Values.Length)
                throw new CoreRelocationException($"access string \"{access}\" does not name an enumerator of {CoreBtf.Describe(type)}");
            Accessors[0].Name = enumType.Values[index].Name;
            return;
        }
        if (!Kind.IsFieldBased())
            throw new CoreRelocationException($"unknown relocation kind {(uint)Kind}");

        BitOffset = checked(index * (long)CoreBtf.ResolveSize(btf, id) * 8);
        for (int i = 1; i < RawLength; i++)
        {
            type = CoreBtf.SkipModsAndTypedefs(btf, id, out id);
            index = Raw[i];
            switch (type)
            {
                case BtfComposite composite:
                    if (index >= composite.Members.Length)
                        throw new CoreRelocationException($"access string \"{access}\": {CoreBtf.Describe(composite)} has no member #{index}");
                    var member = composite.Members[index];
                    BitOffset += member.BitOffset;
                    // Anonymous members stay in the raw path only: the target may nest the same field differently.
                    if (member.Name.Length != 0)
                        PushAccessor(id, index, member.Name);
                    id = member.TypeId;
                    break;
                case BtfArray array:
                    CoreBtf.SkipModsAndTypedefs(btf, array.ElementTypeId, out id);
                    if (!IsFlexibleArray(btf, Accessors[Length - 1], array) && index >= array.Count)
                        throw new CoreRelocationException($"access string \"{access}\": index {index} is past the end of a {array.Count}-element array");
                    PushAccessor(id, index, null);
                    BitOffset = checked(BitOffset + index * (long)CoreBtf.ResolveSize(btf, id) * 8);
                    break;
                default:
                    throw new CoreRelocationException($"access string \"{access}\" step {i} reaches {CoreBtf.Describe(type)} [{id}], which has no members or elements");
            }
        }
    }

    /// <summary>A zero-length array that is the last member of its struct (a C flexible array member) accepts any index.</summary>
    public static bool IsFlexibleArray(BtfSpec btf, in CoreAccessor enclosing, BtfArray array)
    {
        if (enclosing.Name is null || array.Count > 0)
            return false;
        return btf.GetType(enclosing.TypeId) is BtfComposite composite && enclosing.Index == composite.Members.Length - 1;
    }

    private void ParseIndexes(string access)
    {
        int position = 0;
        while (position < access.Length)
        {
            if (access[position] == ':')
                position++;
            int start = position;
            long value = 0;
            while (position < access.Length && access[position] is >= '0' and <= '9')
            {
                value = value * 10 + (access[position] - '0');
                if (value > int.MaxValue)
                    throw new CoreRelocationException($"access string \"{access}\": index too large");
                position++;
            }
            if (position == start || (position < access.Length && access[position] != ':'))
                throw new CoreRelocationException($"malformed access string \"{access}\"");
            PushRaw((int)value);
        }
    }

    /// <summary>A readable path, e.g. "struct task_struct.mm.pgd (0:40:2 @ offset 1288)" or "enum foo::BAR".</summary>
    public string Format()
    {
        var text = new DefaultInterpolatedStringHandler(0, 0);
        AppendTo(ref text);
        return text.ToStringAndClear();
    }

    /// <summary>Appends <see cref="Format"/>'s text to a pooled buffer, so a relocation's message costs one string.</summary>
    public void AppendTo(ref DefaultInterpolatedStringHandler text)
    {
        var root = Btf.GetType(RootTypeId);
        text.AppendLiteral(CoreBtf.KindWord(root));
        text.AppendLiteral(" ");
        text.AppendLiteral(root.Name.Length == 0 ? "<anon>" : root.Name);
        if (Kind.IsTypeBased() || Length == 0)
            return;
        if (Kind.IsEnumValueBased())
        {
            text.AppendLiteral("::");
            text.AppendLiteral(Accessors[0].Name);
            return;
        }
        for (int i = 0; i < Length; i++)
        {
            ref readonly var accessor = ref Accessors[i];
            if (accessor.Name is not null)
            {
                text.AppendLiteral(".");
                text.AppendLiteral(accessor.Name);
            }
            else if (i > 0 || accessor.Index > 0)
            {
                text.AppendLiteral("[");
                text.AppendFormatted(accessor.Index);
                text.AppendLiteral("]");
            }
        }
        text.AppendLiteral(" (");
        for (int i = 0; i < RawLength; i++)
        {
            if (i > 0)
                text.AppendLiteral(":");
            text.AppendFormatted(Raw[i]);
        }
        text.AppendLiteral(" @ offset ");
        text.AppendFormatted(BitOffset / 8);
        if (BitOffset % 8 != 0)
        {
            text.AppendLiteral(".");
            text.AppendFormatted(BitOffset % 8);
        }
        text.AppendLiteral(")");
    }
}
