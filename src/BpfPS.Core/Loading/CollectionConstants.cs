using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Loading;

/// <summary>
/// Rewrites read-only globals (<c>const volatile</c> variables in .rodata*) before load, checking each value against the
/// variable's BTF type and size, like cilium/ebpf's RewriteConstants. The spec is not changed: new initial values are returned.
/// </summary>
internal static class CollectionConstants
{
    /// <summary>Map name to its rewritten initial value, for every read-only data map a constant landed in.</summary>
    public static Dictionary<string, byte[]> Apply(CollectionSpec spec, IReadOnlyDictionary<string, object> constants)
    {
        var rewritten = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        if (constants.Count == 0) return rewritten;
        var btf = spec.Btf ?? throw new BpfLoadException(spec.Path, null, "constants need the object's BTF to find variables, and the object has none");

        var variables = ReadOnlyVariables(spec, btf);
        foreach (var (name, value) in constants)
        {
            if (!variables.TryGetValue(name, out var place))
                throw new BpfLoadException(spec.Path, $"constant '{name}'",
                    $"no such variable in the object's read-only data ({(variables.Count == 0 ? "it has none" : "known: " + string.Join(", ", variables.Keys.Order()))})");
            var map = spec.Maps[place.Map];
            if (!rewritten.TryGetValue(place.Map, out var data))
            {
                data = new byte[map.ValueSize];
                map.InitialValue?.AsSpan(0, Math.Min(map.InitialValue.Length, data.Length)).CopyTo(data);
                rewritten[place.Map] = data;
            }
            if ((ulong)place.Offset + place.Size > (ulong)data.Length)
                throw new BpfLoadException(spec.Path, $"constant '{name}'", $"lies outside map '{place.Map}' (offset {place.Offset}, size {place.Size})");
            string? problem = Encode(btf, place.TypeId, value, data.AsSpan((int)place.Offset, (int)place.Size));
            if (problem is not null) throw new BpfLoadException(spec.Path, $"constant '{name}'", problem);
        }
        return rewritten;
    }

    private readonly record struct Place(string Map, uint Offset, uint Size, uint TypeId);

    /// <summary>Variables of every .rodata* map, found through the map's DATASEC.</summary>
    private static Dictionary<string, Place> ReadOnlyVariables(CollectionSpec spec, BtfSpec btf)
    {
        var variables = new Dictionary<string, Place>(StringComparer.Ordinal);
        foreach (var (mapName, map) in spec.Maps)
        {
            if (!map.IsInternal || !map.SectionName.StartsWith(".rodata", StringComparison.Ordinal)) continue;
            var datasec = FindDatasec(btf, map);
            if (datasec is null) continue; // e.g. .rodata.str1.1: string literals without BTF
            foreach (var v in datasec.VariableArray)
                if (btf.GetType(v.TypeId) is BtfVar variable)
                    variables.TryAdd(variable.Name, new Place(mapName, v.Offset, v.Size, variable.TypeId));
        }
        return variables;
    }

    private static BtfDatasec? FindDatasec(BtfSpec btf, MapSpec map)
    {
        if (map.ValueTypeId != 0 && btf.GetType(map.ValueTypeId) is BtfDatasec byId) return byId;
        foreach (var id in btf.FindByName(map.SectionName))
            if (btf.GetType(id) is BtfDatasec byName) return byName;
        return null;
    }

    /// <summary>Writes <paramref name="value"/> into <paramref name="slot"/> as the BTF type demands; returns a problem or null.</summary>
    internal static string? Encode(BtfSpec btf, uint typeId, object value, Span<byte> slot)
    {
        if (value is byte[] raw)
        {
            if (raw.Length != slot.Length) return $"a byte[] value must be exactly {slot.Length} bytes, not {raw.Length}";
            raw.CopyTo(slot);
            return null;
        }

        var type = btf.GetType(btf.SkipModsAndTypedefs(typeId));
        switch (type)
        {
            case BtfInt i when (i.Encoding & BtfIntEncoding.Bool) != 0:
                if (value is bool b) { slot.Clear(); slot[0] = b ? (byte)1 : (byte)0; return null; }
                return AsInteger(value) is BigInteger n && (n == 0 || n == 1) ? WriteInteger(n, false, slot) : $"expects a bool, got {Describe(value)}";
            case BtfInt i:
                if (value is bool) return $"expects an integer of {i.ByteSize} bytes, got a bool";
                return AsInteger(value) is BigInteger number ? WriteInteger(number, i.IsSigned, slot) : $"expects an integer of {i.ByteSize} bytes, got {Describe(value)}";
            case BtfEnum e:
                if (value is string enumerator)
                {
                    foreach (var v in e.Values)
                        if (v.Name == enumerator) return WriteInteger(e.IsSigned ? v.Value : (BigInteger)(ulong)v.Value & Mask(slot.Length), e.IsSigned, slot);
                    return $"'{enumerator}' is not an enumerator of enum {e.Name} ({string.Join(", ", e.Values.Select(v => v.Name))})";
                }
                return AsInteger(value) is BigInteger en ? WriteInteger(en, e.IsSigned, slot) : $"expects an enum {e.Name} value (number or name), got {Describe(value)}";
            case BtfFloat f:
                double d = value switch { double x => x, float x => x, _ when AsInteger(value) is BigInteger bi => (double)bi, _ => double.NaN };
                if (double.IsNaN(d) && value is not (double or float)) return $"expects a floating-point number, got {Describe(value)}";
                if (f.ByteSize == 4) BinaryPrimitives.WriteSingleLittleEndian(slot, (float)d);
                else if (f.ByteSize == 8) BinaryPrimitives.WriteDoubleLittleEndian(slot, d);
                else return $"floats of {f.ByteSize} bytes are not supported; pass a byte[]";
                return null;
            case BtfArray a when value is string text && btf.GetType(btf.SkipModsAndTypedefs(a.ElementTypeId)) is BtfInt { ByteSize: 1 }:
                var bytes = Encoding.UTF8.GetBytes(text);
                if (bytes.Length >= slot.Length) return $"the string needs {bytes.Length + 1} bytes with its NUL, the array holds {slot.Length}";
                slot.Clear();
                bytes.CopyTo(slot);
                return null;
            default:
                return $"a {type.Kind} variable can only be set from a byte[] of {slot.Length} bytes, got {Describe(value)}";
        }
    }

    private static BigInteger Mask(int bytes) => (BigInteger.One << (bytes * 8)) - 1;

    private static BigInteger? AsInteger(object value) => value switch
    {
        sbyte v => v, byte v => v, short v => v, ushort v => v, int v => v, uint v => v, long v => v, ulong v => v,
        nint v => (long)v, nuint v => (ulong)v, char v => (int)v, BigInteger v => v, Int128 v => (BigInteger)v, UInt128 v => (BigInteger)v,
        Enum v => Convert.ToInt64(v) is long l && l < 0 ? l : (BigInteger)Convert.ToUInt64(v),
        _ => null,
    };

    private static string? WriteInteger(BigInteger value, bool signed, Span<byte> slot)
    {
        int bits = slot.Length * 8;
        if (slot.Length is not (1 or 2 or 4 or 8 or 16)) return $"integers of {slot.Length} bytes are not supported; pass a byte[]";
        var min = signed ? -(BigInteger.One << (bits - 1)) : BigInteger.Zero;
        var max = signed ? (BigInteger.One << (bits - 1)) - 1 : (BigInteger.One << bits) - 1;
        if (value < min || value > max) return $"{value} does not fit in a {(signed ? "signed" : "unsigned")} {slot.Length}-byte integer ({min}..{max})";
        var unsignedValue = value < 0 ? value + (BigInteger.One << bits) : value;
        slot.Clear();
        unsignedValue.TryWriteBytes(slot, out _, isUnsigned: true, isBigEndian: false);
        return null;
    }

    private static string Describe(object value) => value is null ? "null" : $"{value.GetType().Name} '{value}'";
}
