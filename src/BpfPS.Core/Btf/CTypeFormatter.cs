using System.Globalization;
using System.Text;

namespace BpfPS.Core.Btf;

/// <summary>
/// Writes BTF types as C: declarators ("const char *name", "int (*handler)(struct sk_buff *skb)"), struct and union
/// bodies with bitfields, explicit padding and packing where the recorded offsets need them, and enum bodies.
/// The naming hooks let the header writer rename clashing names; the default keeps BTF's names.
/// </summary>
/// <remarks>
/// Layout: a struct is written so that a C compiler for the BPF target puts every member at the offset BTF records.
/// Members are placed naturally where that works; a gap is filled with unnamed bitfields ("long: 64;"), which occupy
/// bits without changing the struct's alignment; a struct whose members cannot sit at natural offsets, or whose size is
/// not a multiple of its natural alignment, is written __attribute__((packed)) (libbpf's rule, plus bitfields that
/// straddle their storage unit).
/// </remarks>
internal class CTypeFormatter
{
    protected readonly BtfSpec Spec;
    private readonly BtfType?[]? _dense;
    private readonly Dictionary<uint, BtfType>? _sparse;
    private readonly Dictionary<uint, int> _alignment = new();
    private readonly Dictionary<uint, bool> _packed = new();

    /// <summary>Inline anonymous types and prototypes nest at most this deep: only a cycle (impossible in C) goes further.</summary>
    private const int MaxNesting = 64;
    /// <summary>
    /// One type's C text may not grow past this many characters: anonymous types and prototypes are written inline at
    /// every use, so malformed BTF that shares them could otherwise make the text grow exponentially.
    /// </summary>
    private const int MaxTextLength = 1 << 20;
    /// <summary>Gaps longer than this many bytes are padded with one char array rather than a line per 8 bytes.</summary>
    private const long MaxPaddingLines = 512;
    private int _prototypeNesting, _embeddingNesting;

    /// <param name="spec">The types.</param>
    /// <param name="wholeSpec">True when most types will be visited (an array cache), false for a few (a dictionary).</param>
    public CTypeFormatter(BtfSpec spec, bool wholeSpec = false)
    {
        Spec = spec;
        if (wholeSpec)
            _dense = new BtfType?[spec.NextTypeId];
        else
            _sparse = new();
    }

    /// <summary>A type, decoded once for this formatter without growing the spec's memoised set.</summary>
    protected BtfType Type(uint id)
    {
        if (_dense is not null)
            return id < (uint)_dense.Length ? _dense[id] ??= Spec.GetTypeTransient(id) : Spec.GetTypeTransient(id);
        if (!_sparse!.TryGetValue(id, out var t))
            _sparse[id] = t = Spec.GetTypeTransient(id);
        return t;
    }

    protected virtual string TagName(BtfType type) => type.Name;
    protected virtual string TypedefName(BtfType type) => type.Name;
    protected virtual string EnumeratorName(string name) => name;

    protected static void Indent(StringBuilder sb, int level) => sb.Append('\t', level);

    // ---- declarators ------------------------------------------------------------------------------------------------

    /// <summary>The declaration of <paramref name="name"/> (may be "") as type <paramref name="typeId"/>.</summary>
    public string Declaration(uint typeId, string name, int level = 0)
    {
        var sb = new StringBuilder();
        AppendDeclaration(sb, typeId, name, level);
        return sb.ToString();
    }

    /// <summary>
    /// Appends a C declaration. BTF chains run outside-in (pointer, then what it points to), so the declarator is built
    /// up while walking the chain and the base type is written in front when the chain ends.
    /// </summary>
    public void AppendDeclaration(StringBuilder sb, uint typeId, string name, int level)
    {
        string declarator = name;
        bool pointerOutside = false;
        string? qualifiers = null, tags = null;
        uint id = typeId;
        for (int depth = 0; depth < 256; depth++)
        {
            var t = Type(id);
            switch (t)
            {
                case BtfReference { Kind: BtfKind.Pointer } p:
                    declarator = "*" + declarator;
                    pointerOutside = true;
                    id = p.TypeId;
                    continue;
                case BtfReference { Kind: BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict } q:
                {
                    string word = q.Kind switch { BtfKind.Const => "const", BtfKind.Volatile => "volatile", _ => "restrict" };
                    var applies = Type(SkipQualifiers(q.TypeId));
                    if (applies.Kind == BtfKind.Pointer)
                        declarator = declarator.Length == 0 ? word : word + " " + declarator;
                    else if (applies.Kind is not (BtfKind.Array or BtfKind.FuncProto))
                        qualifiers = qualifiers is null ? word : qualifiers + " " + word;
                    // Qualified arrays and functions: the qualifier belongs to the elements (GCC's extra copies); drop it, as libbpf does.
                    id = q.TypeId;
                    continue;
                }
                case BtfReference { Kind: BtfKind.TypeTag } tag:
                {
                    string attribute = $"__attribute__((btf_type_tag(\"{tag.Name}\")))";
                    if (Type(SkipQualifiers(tag.TypeId)).Kind == BtfKind.Pointer)
                        declarator = declarator.Length == 0 ? attribute : attribute + " " + declarator;
                    else
                        tags = tags is null ? attribute : tags + " " + attribute;
                    id = tag.TypeId;
                    continue;
                }
                case BtfArray a:
                    declarator = (pointerOutside ? "(" + declarator + ")" : declarator) + "[" + a.Count.ToString(CultureInfo.InvariantCulture) + "]";
                    pointerOutside = false;
                    id = a.ElementTypeId;
                    continue;
                case BtfFuncProto f:
                    if (++_prototypeNesting > MaxNesting)
                        throw new BpfFormatException($"type [{typeId}]: prototypes nest deeper than {MaxNesting} (a cycle?)", Spec.Source, BtfWire.TypePart);
                    string parameters;
                    try { parameters = Parameters(f, level); }
                    finally { _prototypeNesting--; }
                    declarator = (pointerOutside ? "(" + declarator + ")" : declarator) + parameters;
                    pointerOutside = false;
                    id = f.ReturnTypeId;
                    continue;
            }
            if (qualifiers is not null)
                sb.Append(qualifiers).Append(' ');
            AppendBaseType(sb, t, level);
            if (tags is not null)
                sb.Append(' ').Append(tags);
            if (declarator.Length != 0)
                sb.Append(' ').Append(declarator);
            return;
        }
        throw new BpfFormatException($"type [{typeId}]: declarator chain is longer than 256 (a cycle?)", Spec.Source, BtfWire.TypePart);
    }

    private uint SkipQualifiers(uint id)
    {
        for (int depth = 0; depth < BtfSpec.MaxResolveDepth && Type(id) is BtfReference { Kind: BtfKind.Const or BtfKind.Volatile or BtfKind.Restrict or BtfKind.TypeTag } r; depth++)
            id = r.TypeId;
        return id;
    }

    private string Parameters(BtfFuncProto f, int level)
    {
        var ps = f.Parameters;
        if (ps.Length == 0)
            return "(void)";
        // Clang writes "no parameters" as one void parameter; a void parameter last means "...".
        if (ps.Length == 1 && ps[0].TypeId == 0)
            return "()";
        var sb = new StringBuilder("(");
        for (int i = 0; i < ps.Length; i++)
        {
            if (i > 0)
                sb.Append(", ");
            CheckLength(sb, f.Id);
            if (i == ps.Length - 1 && ps[i].TypeId == 0)
                sb.Append("...");
            else
                AppendDeclaration(sb, ps[i].TypeId, ps[i].Name, level);
        }
        return sb.Append(')').ToString();
    }

    /// <summary>The type a declarator chain ends in: a name, or an anonymous struct, union or enum written inline.</summary>
    private void AppendBaseType(StringBuilder sb, BtfType t, int level)
    {
        switch (t)
        {
            case BtfVoid:
                sb.Append("void");
                break;
            case BtfComposite c when c.Name.Length == 0:
                AppendComposite(sb, c, level);
                break;
            case BtfComposite c:
                sb.Append(c.IsUnion ? "union " : "struct ").Append(TagName(c));
                break;
            case BtfEnum e when e.Name.Length == 0:
                AppendEnum(sb, e, level);
                break;
            case BtfEnum e:
                sb.Append("enum ").Append(TagName(e));
                break;
            case BtfFwd f:
                sb.Append(f.IsUnion ? "union " : "struct ").Append(f.Name);
                break;
            case BtfReference { Kind: BtfKind.Typedef }:
                sb.Append(TypedefName(t));
                break;
            case BtfInt or BtfFloat:
                sb.Append(t.Name);
                break;
            default:
                // func, var, datasec, decl_tag do not occur inside declarators of well-formed BTF.
                sb.Append("/* ").Append(t.Kind).Append(" [").Append(t.Id).Append("] */ void");
                break;
        }
    }

    // ---- struct and union bodies ------------------------------------------------------------------------------------

    /// <summary>Appends "struct name { members }" (with " __attribute__((packed))" when needed), no trailing ';'.</summary>
    public void AppendComposite(StringBuilder sb, BtfComposite c, int level)
    {
        if (level > MaxNesting)
            throw new BpfFormatException($"type [{c.Id}]: anonymous types nest deeper than {MaxNesting} (a cycle?)", Spec.Source, BtfWire.TypePart);
        bool packed = IsPacked(c);
        sb.Append(c.IsUnion ? "union" : "struct");
        if (c.Name.Length != 0)
            sb.Append(' ').Append(TagName(c));
        sb.Append(" {");
        long position = 0;   // bits: where the compiler will put the next member
        int lines = 0;
        foreach (var m in c.Members)
        {
            long offset = c.IsUnion ? 0 : m.BitOffset;
            if (!c.IsUnion)
            {
                if (m.BitfieldSize == 0)
                {
                    long natural = RoundUp(position, (packed ? 1 : AlignOf(m.TypeId)) * 8L);
                    if (natural < offset)
                        lines += AppendPadding(sb, position, offset, level + 1);
                }
                else if (position < offset)
                    lines += AppendPadding(sb, position, offset, level + 1);
            }
            CheckLength(sb, c.Id);
            sb.Append('\n');
            Indent(sb, level + 1);
            AppendDeclaration(sb, m.TypeId, m.Name, level + 1);
            if (m.BitfieldSize != 0)
                sb.Append(": ").Append(m.BitfieldSize);
            sb.Append(';');
            lines++;
            long end = offset + (m.BitfieldSize != 0 ? m.BitfieldSize : 8L * SizeOrZero(m.TypeId));
            position = Math.Max(position, end);
        }
        if (!c.IsUnion && RoundUp(position, (packed ? 1 : AlignOf(c)) * 8L) < c.ByteSize * 8L)
            lines += AppendPadding(sb, position, c.ByteSize * 8L, level + 1);
        if (lines > 0)
        {
            sb.Append('\n');
            Indent(sb, level);
        }
        sb.Append('}');
        if (packed)
            sb.Append(" __attribute__((packed))");
    }

    /// <summary>Fills bits [from, to) with unnamed bitfields that never cross their storage unit; returns the lines written.</summary>
    private static int AppendPadding(StringBuilder sb, long from, long to, int level)
    {
        int lines = 0;
        while (from < to)
        {
            if (from % 8 == 0 && (to - from) / 64 > MaxPaddingLines)
            {
                // A gap of megabytes (malformed or absurd offsets) would otherwise be a line per 8 bytes.
                long bytes = (to - from) / 8;
                sb.Append('\n');
                Indent(sb, level);
                sb.Append("char __pad_").Append(from / 8).Append('[').Append(bytes).Append("];");
                from += bytes * 8;
                lines++;
                continue;
            }
            long gap = to - from;
            (string type, long bits) = (from % 8) != 0 ? ("char", Math.Min(gap, 8 - from % 8))
                : from % 64 == 0 && gap >= 64 ? ("long", 64)
                : from % 32 == 0 && gap >= 32 ? ("int", 32)
                : from % 16 == 0 && gap >= 16 ? ("short", 16)
                : ("char", Math.Min(gap, 8));
            sb.Append('\n');
            Indent(sb, level);
            sb.Append(type).Append(": ").Append(bits).Append(';');
            from += bits;
            lines++;
        }
        return lines;
    }

    private void CheckLength(StringBuilder sb, uint id)
    {
        if (sb.Length > MaxTextLength)
            throw new BpfFormatException($"type [{id}]: C text is longer than {MaxTextLength} characters (anonymous types shared too often?)", Spec.Source, BtfWire.TypePart);
    }

    private static long RoundUp(long value, long multiple) => (value + multiple - 1) / multiple * multiple;

    private uint SizeOrZero(uint id)
    {
        try
        {
            return Spec.SizeOf(id);
        }
        catch (BpfFormatException)
        {
            return 0;
        }
    }

    /// <summary>Alignment a C compiler for the BPF target gives the type as written by this formatter.</summary>
    public int AlignOf(uint id)
    {
        for (int depth = 0; depth < BtfSpec.MaxResolveDepth; depth++)
        {
            var t = Type(id);
            switch (t)
            {
                case BtfInt or BtfFloat or BtfEnum:
                    uint size = t.Size!.Value;
                    return size is 1 or 2 or 4 or 8 or 16 ? (int)size : 1;
                case BtfReference { Kind: BtfKind.Pointer }:
                    return (int)BtfSpec.PointerSize;
                case BtfReference r:
                    id = r.TypeId;
                    continue;
                case BtfArray a:
                    id = a.ElementTypeId;
                    continue;
                case BtfComposite c:
                    return AlignOf(c);
                default:
                    return 1;
            }
        }
        return 1;
    }

    private int AlignOf(BtfComposite c)
    {
        if (_alignment.TryGetValue(c.Id, out int known))
            return known;
        // Each embedded struct is a few frames deeper: a long (malformed) chain would overflow the stack.
        if (_embeddingNesting >= MaxNesting)
            throw new BpfFormatException($"type [{c.Id}]: structs and unions embed each other deeper than {MaxNesting}", Spec.Source, BtfWire.TypePart);
        _alignment[c.Id] = 1;   // a by-value cycle (malformed) ends here
        _embeddingNesting++;
        try
        {
            int align = IsPacked(c) ? 1 : NaturalAlign(c);
            _alignment[c.Id] = align;
            return align;
        }
        finally
        {
            _embeddingNesting--;
        }
    }

    private int NaturalAlign(BtfComposite c)
    {
        int max = 1;
        foreach (var m in c.Members)
            max = Math.Max(max, AlignOf(m.TypeId));
        return max;
    }

    /// <summary>Whether the struct or union needs __attribute__((packed)) for its recorded offsets and size.</summary>
    public bool IsPacked(BtfComposite c)
    {
        if (_packed.TryGetValue(c.Id, out bool known))
            return known;
        _packed[c.Id] = false;
        int max = 1;
        bool packed = false;
        foreach (var m in c.Members)
        {
            int align = AlignOf(m.TypeId);
            max = Math.Max(max, align);
            if (m.BitfieldSize == 0)
                packed |= m.BitOffset % (8u * (uint)align) != 0;
            else if (Type(Spec.SkipModsAndTypedefs(m.TypeId)).Size is uint unitBytes and > 0)
            {
                // A bitfield never straddles a storage unit of its type in a struct the compiler laid out itself.
                ulong unit = unitBytes * 8UL;   // 64-bit: a (malformed) unit of 2^29 bytes would wrap to 0 in 32
                packed |= m.BitOffset / unit != (m.BitOffset + (ulong)m.BitfieldSize - 1) / unit;
            }
        }
        packed |= c.ByteSize % (uint)max != 0;
        _packed[c.Id] = packed;
        return packed;
    }

    // ---- enums ------------------------------------------------------------------------------------------------------

    /// <summary>Appends "enum name { A = 1, ... }" and the mode attribute a non-int size needs, no trailing ';'.</summary>
    public void AppendEnum(StringBuilder sb, BtfEnum e, int level)
    {
        sb.Append("enum");
        if (e.Name.Length != 0)
            sb.Append(' ').Append(TagName(e));
        if (e.Values.Length == 0)
            return;
        sb.Append(" {");
        bool fitsInt = true;
        foreach (var v in e.Values)
        {
            sb.Append('\n');
            Indent(sb, level + 1);
            sb.Append(EnumeratorName(v.Name)).Append(" = ").Append(EnumValue(e, v.Value)).Append(',');
            fitsInt &= e.IsSigned ? v.Value is >= int.MinValue and <= int.MaxValue : (ulong)v.Value <= uint.MaxValue;
        }
        sb.Append('\n');
        Indent(sb, level);
        sb.Append('}');
        // The compiler sizes an enum from its values (int, else 64 bits); a packed or widened enum needs its size spelled out.
        if (e.ByteSize == 1)
            sb.Append(" __attribute__((mode(byte)))");
        else if (e.ByteSize == 2)
            sb.Append(" __attribute__((mode(HI)))");
        else if (e.ByteSize == 8 && fitsInt)
            sb.Append(" __attribute__((mode(word)))");
    }

    private static string EnumValue(BtfEnum e, long value) => e.Is64
        ? e.IsSigned ? value.ToString(CultureInfo.InvariantCulture) + "LL" : ((ulong)value).ToString(CultureInfo.InvariantCulture) + "ULL"
        : e.IsSigned ? ((int)value).ToString(CultureInfo.InvariantCulture) : ((uint)value).ToString(CultureInfo.InvariantCulture);
}
