using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Loading;

/// <summary>
/// Fills the ".kconfig" map for __kconfig externs with libbpf 1.1's rules: CONFIG_* from the kernel configuration,
/// LINUX_* virtual values computed here, the C type of each extern (bool, tristate, char, integer, char array) deciding
/// which config spellings it accepts. Missing strong externs are an error; missing weak ones stay zero.
/// </summary>
internal static class KernelConfigExterns
{
    /// <summary>The value types libbpf distinguishes (enum kcfg_type).</summary>
    internal enum KconfigType { Unknown, Char, Bool, Int, Tristate, CharArray }

    /// <summary>libbpf's enum libbpf_tristate.</summary>
    private const uint TriNo = 0, TriYes = 1, TriModule = 2;

    /// <summary>
    /// Builds the map value. <paramref name="linuxValue"/> answers LINUX_* names (null: unknown), <paramref name="config"/>
    /// is read only when a CONFIG_* extern exists.
    /// </summary>
    public static byte[] Build(CollectionSpec spec, MapSpec kconfigMap, Func<string, ulong?> linuxValue,
        Func<IReadOnlyDictionary<string, string>?> config)
    {
        var data = new byte[kconfigMap.ValueSize];
        kconfigMap.InitialValue?.AsSpan(0, Math.Min(kconfigMap.InitialValue.Length, data.Length)).CopyTo(data);
        IReadOnlyDictionary<string, string>? configValues = null;
        bool configRead = false;

        foreach (var ext in spec.Externs)
        {
            if (ext.Kind != ExternKind.Kconfig) continue;
            if ((ulong)ext.Offset + ext.Size > (ulong)data.Length)
                throw Error(spec, ext, $"lies outside the .kconfig map (offset {ext.Offset}, size {ext.Size}, map value {data.Length} bytes)");
            var slot = data.AsSpan((int)ext.Offset, (int)ext.Size);
            var (type, signed) = Classify(spec, ext);
            bool set;

            if (ext.Name.StartsWith("CONFIG_", StringComparison.Ordinal))
            {
                if (!configRead) { configValues = config(); configRead = true; }
                set = configValues is not null && configValues.TryGetValue(ext.Name, out var raw) && SetFromConfig(spec, ext, type, signed, slot, raw);
            }
            else if (linuxValue(ext.Name) is ulong value)
            {
                SetNumber(spec, ext, type, signed, slot, value);
                set = true;
            }
            else if (!ext.Name.StartsWith("LINUX_", StringComparison.Ordinal) || !ext.IsWeak)
            {
                throw Error(spec, ext, "is not a CONFIG_ option nor a LINUX_ value libbpf knows (unrecognised virtual extern)");
            }
            else set = false;

            if (!set && !ext.IsWeak)
                throw Error(spec, ext, "has no value in the kernel configuration (declare it __weak to default to zero)");
        }
        return data;
    }

    /// <summary>libbpf find_kcfg_type over the extern's declared type.</summary>
    internal static (KconfigType Type, bool Signed) Classify(CollectionSpec spec, ExternSpec ext)
    {
        var btf = spec.Btf ?? throw Error(spec, ext, "needs the object's BTF to know its type, and the object has none");
        uint typeId = ext.TypeId;
        if (btf.GetKind(typeId) == BtfKind.Var) typeId = ((BtfVar)btf.GetType(typeId)).TypeId;
        return Classify(btf, typeId, 0);
    }

    private static (KconfigType, bool) Classify(BtfSpec btf, uint typeId, int depth)
    {
        var type = btf.GetType(btf.SkipModsAndTypedefs(typeId));
        switch (type)
        {
            case BtfInt i when (i.Encoding & BtfIntEncoding.Bool) != 0:
                return (i.ByteSize == 1 ? KconfigType.Bool : KconfigType.Unknown, false);
            case BtfInt i:
                if (i.ByteSize == 1) return (KconfigType.Char, i.IsSigned);
                return (i.ByteSize is 2 or 4 or 8 ? KconfigType.Int : KconfigType.Unknown, i.IsSigned);
            case BtfEnum e when e.Name == "libbpf_tristate" && (e.Is64 || e.ByteSize == 4):
                return (KconfigType.Tristate, false);
            case BtfArray a when a.Count > 0 && depth == 0 && Classify(btf, a.ElementTypeId, depth + 1).Item1 == KconfigType.Char:
                return (KconfigType.CharArray, false);
            default:
                return (KconfigType.Unknown, false);
        }
    }

    private static bool SetFromConfig(CollectionSpec spec, ExternSpec ext, KconfigType type, bool signed, Span<byte> slot, string raw)
    {
        if (raw.Length == 0) throw Error(spec, ext, "has an empty value in the kernel configuration");
        switch (raw[0])
        {
            case 'y' or 'n' or 'm':
                SetTristate(spec, ext, type, slot, raw[0]);
                return true;
            case '"':
                SetString(spec, ext, type, slot, raw);
                return true;
            default:
                if (!TryParseUInt64(raw, out ulong number))
                    throw Error(spec, ext, $"value '{raw}' isn't a valid integer");
                if (type is not (KconfigType.Int or KconfigType.Char))
                    throw Error(spec, ext, $"value '{raw}' implies integer type");
                SetNumber(spec, ext, type, signed, slot, number);
                return true;
        }
    }

    private static void SetTristate(CollectionSpec spec, ExternSpec ext, KconfigType type, Span<byte> slot, char value)
    {
        switch (type)
        {
            case KconfigType.Bool:
                if (value == 'm') throw Error(spec, ext, "value 'm' implies tristate or char type");
                slot[0] = value == 'y' ? (byte)1 : (byte)0;
                break;
            case KconfigType.Tristate:
                BinaryPrimitives.WriteUInt32LittleEndian(slot, value switch { 'y' => TriYes, 'm' => TriModule, _ => TriNo });
                break;
            case KconfigType.Char:
                slot[0] = (byte)value;
                break;
            default:
                throw Error(spec, ext, $"value '{value}' implies bool, tristate, or char type");
        }
    }

    private static void SetString(CollectionSpec spec, ExternSpec ext, KconfigType type, Span<byte> slot, string raw)
    {
        if (type != KconfigType.CharArray) throw Error(spec, ext, $"value '{raw}' implies char array type");
        if (raw.Length < 2 || raw[^1] != '"') throw Error(spec, ext, $"invalid string config '{raw}'");
        var bytes = Encoding.UTF8.GetBytes(raw[1..^1]);
        int length = Math.Min(bytes.Length, slot.Length - 1); // truncated like libbpf, always NUL-terminated
        bytes.AsSpan(0, length).CopyTo(slot);
        slot[length] = 0;
    }

    private static void SetNumber(CollectionSpec spec, ExternSpec ext, KconfigType type, bool signed, Span<byte> slot, ulong value)
    {
        if (type is not (KconfigType.Int or KconfigType.Char or KconfigType.Bool))
            throw Error(spec, ext, $"value '{value}' implies integer, char, or boolean type");
        if (type == KconfigType.Bool && value > 1)
            throw Error(spec, ext, $"value '{value}' isn't boolean compatible");
        int bits = slot.Length * 8;
        bool inRange = slot.Length >= 8 || (signed ? value + (1UL << (bits - 1)) < (1UL << bits) : value >> bits == 0);
        if (!inRange) throw Error(spec, ext, $"value '{value}' doesn't fit in {slot.Length} bytes");
        switch (slot.Length)
        {
            case 1: slot[0] = (byte)value; break;
            case 2: BinaryPrimitives.WriteUInt16LittleEndian(slot, (ushort)value); break;
            case 4: BinaryPrimitives.WriteUInt32LittleEndian(slot, (uint)value); break;
            case 8: BinaryPrimitives.WriteUInt64LittleEndian(slot, value); break;
            default: throw Error(spec, ext, $"has unsupported size {slot.Length}");
        }
    }

    /// <summary>strtoull(value, &amp;end, 0) with the whole string consumed: decimal, 0x hex, or leading-0 octal; '-' wraps.</summary>
    internal static bool TryParseUInt64(string text, out ulong value)
    {
        value = 0;
        var s = text.AsSpan().Trim();
        bool negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+')) { negative = s[0] == '-'; s = s[1..]; }
        if (s.IsEmpty) return false;
        bool ok;
        if (s.Length > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
            ok = ulong.TryParse(s[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);
        else if (s.Length > 1 && s[0] == '0')
        {
            ok = true;
            foreach (char c in s[1..])
            {
                if (c is < '0' or > '7' || value > ulong.MaxValue >> 3) { ok = false; break; }
                value = value << 3 | (uint)(c - '0');
            }
        }
        else ok = ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out value);
        if (ok && negative) value = unchecked(0 - value);
        return ok;
    }

    private static BpfLoadException Error(CollectionSpec spec, ExternSpec ext, string message) =>
        new(spec.Path, $"extern (kcfg) '{ext.Name}'", message);
}
