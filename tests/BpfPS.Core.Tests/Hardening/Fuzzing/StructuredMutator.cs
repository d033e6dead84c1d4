using System.Buffers.Binary;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// Mutates one blob of a seed. Most edits know the format (they overwrite a header field, a section header field, a
/// symbol or relocation entry, a BTF kind/vlen/type id/string offset with a boundary value or a value that means
/// something for this blob); the rest are the classic blind ones (bit flips, random bytes, truncation, extension,
/// splicing in a piece of another seed, duplicating or removing a run). Deterministic for a given <see cref="Random"/>.
/// </summary>
public static class StructuredMutator
{
    private static readonly ulong[] Boundaries =
    [
        0, 1, 2, 3, 4, 7, 8, 0x0f, 0x10, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
        0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, ulong.MaxValue,
    ];

    /// <summary>A mutated copy of <paramref name="seed"/>, with 1 to 4 stacked edits.</summary>
    /// <param name="other">Another seed's blob of the same kind, for splicing (may be the same one).</param>
    public static byte[] Mutate(byte[] seed, InputLayout layout, Random rng, byte[] other)
    {
        var data = new List<byte>(seed);
        int edits = 1 + (rng.Next(8) switch { < 5 => 0, < 7 => 1, _ => 2 + rng.Next(2) });
        for (int e = 0; e < edits; e++)
            EditOnce(data, layout, rng, other);
        return data.ToArray();
    }

    private static void EditOnce(List<byte> data, InputLayout layout, Random rng, byte[] other)
    {
        int choice = rng.Next(100);
        if (layout.Fields.Count > 0 && choice < 55)
        {
            var field = layout.Fields[rng.Next(layout.Fields.Count)];
            if (field.Offset + field.Width > data.Count) return;
            ulong old = ReadField(data, field);
            WriteField(data, field, FieldValue(old, field.Width, layout, rng));
            return;
        }
        if (data.Count == 0)
        {
            data.AddRange(other.AsSpan(0, Math.Min(other.Length, 64)).ToArray());
            return;
        }
        switch (choice)
        {
            case < 68: // flip 1-4 bits
                for (int i = 1 + rng.Next(4); i > 0; i--)
                {
                    int at = rng.Next(data.Count);
                    data[at] ^= (byte)(1 << rng.Next(8));
                }
                break;
            case < 76: // random bytes
                for (int i = 1 + rng.Next(4); i > 0; i--)
                    data[rng.Next(data.Count)] = (byte)rng.Next(256);
                break;
            case < 83: // truncate, often near a field
                int cut = layout.Fields.Count > 0 && rng.Next(2) == 0
                    ? Math.Min(data.Count, layout.Fields[rng.Next(layout.Fields.Count)].Offset + rng.Next(9) - 4)
                    : rng.Next(data.Count);
                data.RemoveRange(Math.Max(0, cut), data.Count - Math.Max(0, cut));
                break;
            case < 86: // extend
                int extra = 1 + rng.Next(64);
                for (int i = 0; i < extra; i++) data.Add(rng.Next(3) == 0 ? (byte)rng.Next(256) : (byte)0);
                break;
            case < 94: // splice a run of another seed over this one
            {
                if (other.Length == 0) break;
                int from = rng.Next(other.Length), length = Math.Min(other.Length - from, 1 + rng.Next(256));
                int to = rng.Next(data.Count);
                for (int i = 0; i < length; i++)
                {
                    if (to + i < data.Count) data[to + i] = other[from + i];
                    else data.Add(other[from + i]);
                }
                break;
            }
            case < 97: // duplicate a run
            {
                int from = rng.Next(data.Count), length = Math.Min(data.Count - from, 1 + rng.Next(64));
                data.InsertRange(rng.Next(data.Count), data.GetRange(from, length));
                break;
            }
            default: // remove a run
            {
                int from = rng.Next(data.Count), length = Math.Min(data.Count - from, 1 + rng.Next(64));
                data.RemoveRange(from, length);
                break;
            }
        }
    }

    private static ulong FieldValue(ulong old, int width, InputLayout layout, Random rng)
    {
        ulong mask = width == 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;
        ulong value = rng.Next(10) switch
        {
            < 4 => Boundaries[rng.Next(Boundaries.Length)],
            < 6 when layout.Hints.Count > 0 => layout.Hints.ElementAt(rng.Next(layout.Hints.Count)),
            6 => old + 1,
            7 => old - 1,
            8 => old ^ (1UL << rng.Next(width * 8)),
            _ => (ulong)rng.NextInt64() ^ ((ulong)rng.NextInt64() << 1),
        };
        return value & mask;
    }

    private static ulong ReadField(List<byte> data, MutableField f)
    {
        ulong v = 0;
        for (int i = f.Width - 1; i >= 0; i--)
            v = (v << 8) | data[f.Offset + i];
        return v;
    }

    private static void WriteField(List<byte> data, MutableField f, ulong value)
    {
        Span<byte> bytes = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        for (int i = 0; i < f.Width; i++)
            data[f.Offset + i] = bytes[i];
    }
}
