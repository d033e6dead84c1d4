using System.Collections;
using System.Text;

namespace BpfPS.Core.Values;

/// <summary>Structural equality, hashing and display for decoded values (arrays compare by elements, records by members).</summary>
public static class ValueEquality
{
    /// <summary>True when two decoded values are the same value (byte[] and object?[] element by element, records member by member).</summary>
    public static bool Equal(object? a, object? b)
    {
        if (ReferenceEquals(a, b)) return true;
        if (a is null || b is null) return false;
        if (a is byte[] ba && b is byte[] bb) return ba.AsSpan().SequenceEqual(bb);
        if (a is object?[] oa && b is object?[] ob)
        {
            if (oa.Length != ob.Length) return false;
            for (int i = 0; i < oa.Length; i++)
                if (!Equal(oa[i], ob[i])) return false;
            return true;
        }
        return a.Equals(b);
    }

    public static int Hash(object? value)
    {
        switch (value)
        {
            case null: return 0;
            case byte[] bytes:
            {
                var hash = new HashCode();
                hash.AddBytes(bytes);
                return hash.ToHashCode();
            }
            case object?[] items:
            {
                var hash = new HashCode();
                foreach (var item in items) hash.Add(Hash(item));
                return hash.ToHashCode();
            }
            default: return value.GetHashCode();
        }
    }

    internal static void Append(StringBuilder text, object? value)
    {
        switch (value)
        {
            case null: text.Append("null"); break;
            case byte[] bytes: text.Append("0x").Append(Convert.ToHexStringLower(bytes)); break;
            case string s: text.Append(s); break;
            case IEnumerable items and not BtfRecord:
                text.Append('[');
                bool first = true;
                foreach (var item in items)
                {
                    if (!first) text.Append(", ");
                    first = false;
                    Append(text, item);
                }
                text.Append(']');
                break;
            default: text.Append(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)); break;
        }
    }
}
