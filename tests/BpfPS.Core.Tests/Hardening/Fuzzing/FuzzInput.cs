using System.Buffers.Binary;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// How a target's blobs travel as one file (a saved finding, an AFL test case): a one-blob target's input is the blob
/// itself (so an .o file is an ELF input as it is); with more blobs each but the last is prefixed by its u32 length.
/// Decoding never fails: a length past the end is clamped, so every byte string is some input.
/// </summary>
public static class FuzzInput
{
    public static byte[] Encode(IReadOnlyList<byte[]> blobs)
    {
        if (blobs.Count == 1) return blobs[0];
        var output = new List<byte>();
        Span<byte> length = stackalloc byte[4];
        for (int i = 0; i < blobs.Count; i++)
        {
            if (i < blobs.Count - 1)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)blobs[i].Length);
                output.AddRange(length.ToArray());
            }
            output.AddRange(blobs[i]);
        }
        return output.ToArray();
    }

    public static ReadOnlyMemory<byte>[] Decode(ReadOnlyMemory<byte> input, int blobCount)
    {
        var blobs = new ReadOnlyMemory<byte>[blobCount];
        var rest = input;
        for (int i = 0; i < blobCount - 1; i++)
        {
            uint length = rest.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(rest.Span) : 0;
            rest = rest[Math.Min(4, rest.Length)..];
            int take = (int)Math.Min(length, (uint)rest.Length);
            blobs[i] = rest[..take];
            rest = rest[take..];
        }
        blobs[blobCount - 1] = rest;
        return blobs;
    }
}
