namespace BpfPS.Core.Values;

/// <summary>Little-endian bit ranges (up to 128 bits) read from and written into byte spans, as C lays out bitfields on BPF targets.</summary>
internal static class BitFields
{
    public const int MaxBits = 128;

    /// <summary>Bytes touched by <paramref name="bitSize"/> bits starting at <paramref name="bitOffset"/>.</summary>
    public static ulong BytesSpanned(ulong bitOffset, int bitSize) => (bitOffset + (ulong)bitSize + 7) / 8;

    public static UInt128 Read(ReadOnlySpan<byte> bytes, int bitOffset, int bitSize)
    {
        int first = bitOffset >> 3, shift = bitOffset & 7;
        int count = (shift + bitSize + 7) >> 3;
        UInt128 value = 0;
        for (int k = 0; k < count; k++)
        {
            int position = 8 * k - shift;
            byte b = bytes[first + k];
            value |= position >= 0 ? (UInt128)b << position : (UInt128)(byte)(b >> shift);
        }
        return value & Mask(bitSize);
    }

    public static void Write(Span<byte> bytes, int bitOffset, int bitSize, UInt128 value)
    {
        for (int bit = 0; bit < bitSize;)
        {
            int absolute = bitOffset + bit, index = absolute >> 3, inByte = absolute & 7;
            int n = Math.Min(8 - inByte, bitSize - bit);
            int mask = ((1 << n) - 1) << inByte;
            int part = ((int)(byte)(value >> bit) & ((1 << n) - 1)) << inByte;
            bytes[index] = (byte)((bytes[index] & ~mask) | part);
            bit += n;
        }
    }

    public static UInt128 Mask(int bits) => bits >= 128 ? UInt128.MaxValue : (UInt128.One << bits) - 1;

    /// <summary>Sign-extends the low <paramref name="bits"/> bits to 128.</summary>
    public static UInt128 SignExtend(UInt128 value, int bits) =>
        bits < 128 && ((value >> (bits - 1)) & 1) != 0 ? value | ~Mask(bits) : value;
}
