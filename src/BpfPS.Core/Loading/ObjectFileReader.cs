using System.Buffers;

namespace BpfPS.Core.Loading;

/// <summary>
/// Reads an object file for <see cref="CollectionSpec.Load"/> into a pooled buffer that is returned once the spec is
/// parsed. A fresh array for every load cost more than the parse: objects of a few hundred KiB land on the large object
/// heap in newly committed pages, and faulting those in took ~100 µs per load of manyprogs_100.o (a reused buffer: ~17).
/// This is safe because a spec owns copies of everything it keeps (instructions, initial values, the fixed-up BTF);
/// <c>PooledReadTests</c> checks that by overwriting the buffer after the parse.
/// </summary>
internal static class ObjectFileReader
{
    public static CollectionSpec Parse(string path) => Parse(path, ArrayPool<byte>.Shared);

    /// <param name="pool">Where the buffer comes from (tests pass one that lets them see and overwrite it).</param>
    internal static CollectionSpec Parse(string path, ArrayPool<byte> pool)
    {
        using var file = File.OpenHandle(path);
        long length = RandomAccess.GetLength(file);
        if (length > Array.MaxLength)
            throw new IOException($"{path}: {length} bytes is too large for an eBPF object");
        var buffer = pool.Rent((int)length);
        try
        {
            int filled = 0;
            while (filled < length)
            {
                int read = RandomAccess.Read(file, buffer.AsSpan(filled, (int)length - filled), filled);
                if (read == 0) break; // the file shrank while being read: parse what was there
                filled += read;
            }
            return ObjectParser.Parse(buffer.AsMemory(0, filled), path);
        }
        finally
        {
            pool.Return(buffer);
        }
    }
}
