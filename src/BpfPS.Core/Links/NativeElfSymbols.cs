using System.Buffers.Binary;
using System.Text;

namespace BpfPS.Core.Links;

/// <summary>
/// Finds a function in a native ELF64 executable or shared library (the target of a uprobe) and turns its address
/// into the file offset the uprobe PMU wants. Reads .symtab and .dynsym; offsets come from the PT_LOAD segment that
/// holds the address, as the kernel maps it.
/// </summary>
public static class NativeElfSymbols
{
    private const uint SectionSymtab = 2, SectionDynsym = 11, SegmentLoad = 1;
    private const byte SymbolFunction = 2, SymbolIndirectFunction = 10;

    /// <summary>The file offset of function <paramref name="symbol"/> in <paramref name="path"/>.</summary>
    /// <exception cref="KeyNotFoundException">The file has no such defined function.</exception>
    /// <exception cref="InvalidDataException">Not a little-endian ELF64 file, or malformed.</exception>
    public static ulong FileOffset(string path, string symbol)
    {
        var data = File.ReadAllBytes(path);
        return FileOffset(data, path, symbol);
    }

    internal static ulong FileOffset(ReadOnlySpan<byte> data, string path, string symbol)
    {
        if (data.Length < 64 || data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw new InvalidDataException($"{path} is not an ELF file");
        if (data[4] != 2 || data[5] != 1)
            throw new InvalidDataException($"{path} is not a little-endian 64-bit ELF file");

        ulong address = FindSymbol(data, path, symbol)
            ?? throw new KeyNotFoundException($"{path} has no function '{symbol}' in its symbol tables");
        return AddressToOffset(data, path, address)
            ?? throw new InvalidDataException($"{path}: function '{symbol}' at 0x{address:x} lies in no loadable segment");
    }

    private static ulong? FindSymbol(ReadOnlySpan<byte> data, string path, string symbol)
    {
        ulong shoff = U64(data, 0x28, path);
        int shentsize = U16(data, 0x3a, path), shnum = U16(data, 0x3c, path);
        if (shoff == 0 || shnum == 0) return null;
        if (shentsize < 64) throw new InvalidDataException($"{path}: section header size {shentsize}");
        var wanted = Encoding.UTF8.GetBytes(symbol);
        ulong? weak = null;
        // .symtab first (it has local functions too), then .dynsym.
        foreach (var kind in new[] { SectionSymtab, SectionDynsym })
        {
            for (int i = 0; i < shnum; i++)
            {
                long header = (long)shoff + (long)i * shentsize;
                if (U32(data, header + 4, path) != kind) continue;
                ulong offset = U64(data, header + 24, path), size = U64(data, header + 32, path), entsize = U64(data, header + 56, path);
                uint link = U32(data, header + 40, path);
                if (entsize < 24 || link >= shnum) continue;
                long strHeader = (long)shoff + (long)link * shentsize;
                ulong strOffset = U64(data, strHeader + 24, path), strSize = U64(data, strHeader + 32, path);
                var strings = Slice(data, strOffset, strSize, path);
                for (ulong at = 0; at + 24 <= size; at += entsize)
                {
                    long sym = (long)(offset + at);
                    byte info = Slice(data, (ulong)sym + 4, 1, path)[0];
                    byte type = (byte)(info & 0xf);
                    if (type is not (SymbolFunction or SymbolIndirectFunction)) continue;
                    if (U16(data, sym + 6, path) == 0) continue; // undefined: the function lives in another object
                    uint name = U32(data, sym, path);
                    if (name >= strings.Length) continue;
                    var rest = strings[(int)name..];
                    int end = rest.IndexOf((byte)0);
                    if (end < 0 || !rest[..end].SequenceEqual(wanted)) continue;
                    ulong value = U64(data, sym + 8, path);
                    if (info >> 4 == 2) weak ??= value; // STB_WEAK: a strong definition elsewhere wins
                    else return value;
                }
            }
            if (weak is not null) return weak;
        }
        return weak;
    }

    private static ulong? AddressToOffset(ReadOnlySpan<byte> data, string path, ulong address)
    {
        ulong phoff = U64(data, 0x20, path);
        int phentsize = U16(data, 0x36, path), phnum = U16(data, 0x38, path);
        for (int i = 0; i < phnum; i++)
        {
            long header = (long)phoff + (long)i * phentsize;
            if (U32(data, header, path) != SegmentLoad) continue;
            ulong fileOffset = U64(data, header + 8, path), vaddr = U64(data, header + 16, path), filesz = U64(data, header + 32, path);
            if (address >= vaddr && address < vaddr + filesz) return address - vaddr + fileOffset;
        }
        return null;
    }

    private static ReadOnlySpan<byte> Slice(ReadOnlySpan<byte> data, ulong offset, ulong length, string path)
    {
        if (offset > (ulong)data.Length || length > (ulong)data.Length - offset)
            throw new InvalidDataException($"{path}: offset 0x{offset:x} (+{length}) lies outside the file");
        return data.Slice((int)offset, (int)length);
    }

    private static ulong U64(ReadOnlySpan<byte> data, long at, string path) => BinaryPrimitives.ReadUInt64LittleEndian(Slice(data, (ulong)at, 8, path));
    private static uint U32(ReadOnlySpan<byte> data, long at, string path) => BinaryPrimitives.ReadUInt32LittleEndian(Slice(data, (ulong)at, 4, path));
    private static ushort U16(ReadOnlySpan<byte> data, long at, string path) => BinaryPrimitives.ReadUInt16LittleEndian(Slice(data, (ulong)at, 2, path));
}
