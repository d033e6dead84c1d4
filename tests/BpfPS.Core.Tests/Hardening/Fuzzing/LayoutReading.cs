using System.Buffers.Binary;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>Lenient little-endian reads for the layout scanners: out of range reads give 0, so a scanner never throws.</summary>
internal static class LayoutReading
{
    public static ulong Read(ReadOnlySpan<byte> b, long offset, int width)
    {
        if (offset < 0 || offset + width > b.Length) return 0;
        var s = b.Slice((int)offset, width);
        return width switch
        {
            1 => s[0],
            2 => BinaryPrimitives.ReadUInt16LittleEndian(s),
            4 => BinaryPrimitives.ReadUInt32LittleEndian(s),
            _ => BinaryPrimitives.ReadUInt64LittleEndian(s),
        };
    }

    public static uint U32(ReadOnlySpan<byte> b, long offset) => (uint)Read(b, offset, 4);
}
