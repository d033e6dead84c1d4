using System.Collections;
using System.Globalization;
using System.Numerics;

namespace BpfPS.Core.Values;

/// <summary>Reads caller values (any .NET number, numeric strings, enums) as exact integers and checks ranges.</summary>
internal static class ValueConversion
{
    /// <summary>The value as an exact integer, or false when it is not one (fractions, non-numbers).</summary>
    public static bool TryGetInteger(object value, out BigInteger result)
    {
        switch (value)
        {
            case sbyte v: result = v; return true;
            case byte v: result = v; return true;
            case short v: result = v; return true;
            case ushort v: result = v; return true;
            case int v: result = v; return true;
            case uint v: result = v; return true;
            case long v: result = v; return true;
            case ulong v: result = v; return true;
            case nint v: result = v; return true;
            case nuint v: result = v; return true;
            case Int128 v: result = v; return true;
            case UInt128 v: result = v; return true;
            case BigInteger v: result = v; return true;
            case char v: result = v; return true;
            case Enum v: result = ToBigInteger(v); return true;
            case float f when float.IsFinite(f) && float.IsInteger(f): result = new BigInteger(f); return true;
            case double d when double.IsFinite(d) && double.IsInteger(d): result = new BigInteger(d); return true;
            case decimal m when decimal.Truncate(m) == m: result = new BigInteger(m); return true;
            case string s: return TryParseInteger(s, out result);
            default: result = default; return false;
        }
    }

    /// <summary>Decimal or 0x-prefixed hex, optionally negative ("-0x10"), surrounding blanks ignored.</summary>
    public static bool TryParseInteger(string text, out BigInteger result)
    {
        var s = text.AsSpan().Trim();
        bool negative = s.StartsWith("-");
        if (negative) s = s[1..];
        result = default;
        bool parsed;
        if (s.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
            // A leading 0 keeps the hex digits positive (BigInteger treats a high first digit as a sign bit).
            parsed = s.Length > 2 && BigInteger.TryParse("0" + s[2..].ToString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out result);
        else
            parsed = s.Length > 0 && char.IsAsciiDigit(s[0]) && BigInteger.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out result);
        if (!parsed) { result = default; return false; }
        if (negative) result = -result;
        return true;
    }

    public static bool TryGetDouble(object value, out double result)
    {
        switch (value)
        {
            case float f: result = f; return true;
            case double d: result = d; return true;
            case decimal m: result = (double)m; return true;
            case Half h: result = (double)h; return true;
            case string s: return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out result);
            case bool: result = 0; return false;
            default:
                if (TryGetInteger(value, out var integer)) { result = (double)integer; return true; }
                result = 0;
                return false;
        }
    }

    /// <summary>Smallest and largest value of a <paramref name="bits"/>-wide integer.</summary>
    public static (BigInteger Min, BigInteger Max) Range(int bits, bool signed) => signed
        ? (-(BigInteger.One << (bits - 1)), (BigInteger.One << (bits - 1)) - 1)
        : (BigInteger.Zero, (BigInteger.One << bits) - 1);

    /// <summary>The low <paramref name="bits"/> bits of a (possibly negative) integer, as two's complement.</summary>
    public static UInt128 ToBits(BigInteger value, int bits)
    {
        var mask = (BigInteger.One << bits) - 1;
        return (UInt128)(value & mask);
    }

    /// <summary>True for values that are a sequence of elements rather than one value (not strings, bytes or dictionaries).</summary>
    public static bool IsSequence(object value) =>
        value is IEnumerable and not string and not IDictionary and not IEnumerable<KeyValuePair<string, object?>>;

    /// <summary>Describes a value's type for messages ("Int32", "Hashtable", "null").</summary>
    public static string TypeOf(object? value) => value is null ? "null" : value.GetType().Name;

    private static BigInteger ToBigInteger(Enum value) =>
        Type.GetTypeCode(Enum.GetUnderlyingType(value.GetType())) is TypeCode.UInt64
            ? new BigInteger(Convert.ToUInt64(value, CultureInfo.InvariantCulture))
            : new BigInteger(Convert.ToInt64(value, CultureInfo.InvariantCulture));
}
