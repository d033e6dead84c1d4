using System.Buffers.Binary;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Tests.Elf;

// Malformed input must give BpfFormatException naming the file (and, where there is one, the section and offset),
// never IndexOutOfRange, Overflow, Argument or NullReference exceptions.
public class MalformedElfTests
{
    private const string Name = "bad.o";

    private static byte[] Fixture()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        return Fixtures.Bytes("global_data");
    }

    /// <summary>Parses and, when that works, reads every REL section: the whole reader surface.</summary>
    private static void ReadEverything(byte[] bytes)
    {
        var elf = ElfFile.Parse(bytes, Name);
        foreach (var s in elf.Sections)
        {
            _ = elf.GetData(s);
            if (s.Type == ElfSectionType.Rel) elf.ReadRelocations(s);
        }
    }

    private static BpfFormatException Fails(byte[] bytes)
    {
        var ex = Assert.Throws<BpfFormatException>(() => ReadEverything(bytes));
        Assert.Equal(Name, ex.File);
        return ex;
    }

    [SkippableFact]
    public void TruncatedAtAnyLengthIsAFormatError()
    {
        var bytes = Fixture();
        for (int length = 0; length < bytes.Length; length += length < 128 ? 1 : 37)
        {
            var cut = bytes.AsSpan(0, length).ToArray();
            try
            {
                ReadEverything(cut);
            }
            catch (BpfFormatException e)
            {
                Assert.Equal(Name, e.File);
            }
        }
        // The section headers are at the end of a clang object, so any real cut loses them.
        Fails(bytes.AsSpan(0, bytes.Length - 1).ToArray());
    }

    [SkippableTheory]
    [InlineData(0, 0x7e, "magic")]      // not ELF
    [InlineData(4, 1, "ELFCLASS64")]    // 32-bit
    [InlineData(5, 2, "little-endian")] // big-endian
    [InlineData(18, 62, "EM_BPF")]      // x86-64 machine
    [InlineData(16, 2, "ET_REL")]       // executable, not relocatable
    public void WrongIdentityIsRejected(int offset, byte value, string mentioned)
    {
        var bytes = Fixture();
        bytes[offset] = value;
        var ex = Fails(bytes);
        Assert.Contains(mentioned, ex.Message);
        Assert.Equal(offset, ex.Offset);
    }

    [SkippableFact]
    public void SectionDataOutsideTheFileIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        Assert.True(elf.TryGetSection(".data", out var data));
        PatchSectionHeader(bytes, data.Index, 24, (ulong)bytes.Length - 2); // sh_offset
        var ex = Fails(bytes);
        Assert.Equal($"section {data.Index}", ex.Section);
        Assert.Contains("outside the file", ex.Message);

        bytes = Fixture();
        PatchSectionHeader(bytes, data.Index, 32, ulong.MaxValue - 4); // sh_size: would overflow offset + size
        Assert.Contains("outside the file", Fails(bytes).Message);
    }

    [SkippableFact]
    public void SectionHeaderTableOutsideTheFileIsRejected()
    {
        var bytes = Fixture();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(40), (ulong)bytes.Length); // e_shoff
        Fails(bytes);
        bytes = Fixture();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(60), 0xfff0); // e_shnum
        Fails(bytes);
        bytes = Fixture();
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(62), 0xfff0); // e_shstrndx
        Fails(bytes);
    }

    [SkippableFact]
    public void BadSectionNameOffsetIsRejected()
    {
        var bytes = Fixture();
        PatchSectionHeader32(bytes, 3, 0, 0x7fffffff); // sh_name
        var ex = Fails(bytes);
        Assert.Equal(".shstrtab", ex.Section);
    }

    [SkippableFact]
    public void SymbolInAMissingSectionIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        var symtab = elf.Sections[elf.SymbolTableIndex];
        int firstGlobal = elf.Symbols.First(s => s.IsGlobal && s.IsInSection).Index;
        int at = (int)symtab.Offset + firstGlobal * ElfConstants.SymbolSize + 6; // st_shndx
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at), (ushort)(elf.Sections.Count + 3));
        var ex = Fails(bytes);
        Assert.Equal(".symtab", ex.Section);
        Assert.Equal(at - 6, ex.Offset);
    }

    [SkippableFact]
    public void SymbolNameOutsideTheStringTableIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        var symtab = elf.Sections[elf.SymbolTableIndex];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)symtab.Offset + 2 * ElfConstants.SymbolSize), 0x00ffffff);
        Assert.Contains("name of symbol 2", Fails(bytes).Message);
    }

    [SkippableFact]
    public void RelocationSymbolIndexOutOfRangeIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        var rel = elf.Sections.First(s => s.Type == ElfSectionType.Rel && s.Name == ".relsocket");
        ulong info = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)rel.Offset + 8));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)rel.Offset + 8), (info & 0xffffffff) | ((ulong)elf.Symbols.Count << 32));
        var ex = Fails(bytes);
        Assert.Equal(".relsocket", ex.Section);
        Assert.Equal((long)rel.Offset, ex.Offset);
        Assert.Contains("past the end of the symbol table", ex.Message);
    }

    [SkippableFact]
    public void RelocationOffsetOutsideItsTargetIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        var rel = elf.Sections.First(s => s.Name == ".relsocket");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)rel.Offset), 0x100000);
        Assert.Contains("outside socket", Fails(bytes).Message);
    }

    [SkippableFact]
    public void RelocationTargetSectionOutOfRangeIsRejected()
    {
        var bytes = Fixture();
        var elf = ElfFile.Parse(bytes, Name);
        var rel = elf.Sections.First(s => s.Name == ".relsocket");
        PatchSectionHeader32(bytes, rel.Index, 44, 999); // sh_info
        Assert.Contains("section index 999", Fails(bytes).Message);
    }

    [SkippableFact]
    public void RandomByteFlipsNeverEscapeAsOtherExceptions()
    {
        var original = Fixture();
        var random = new Random(1234);
        for (int round = 0; round < 2000; round++)
        {
            var bytes = (byte[])original.Clone();
            for (int k = 0; k < 4; k++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            try { ReadEverything(bytes); }
            catch (BpfFormatException) { }
        }
    }

    private static void PatchSectionHeader(byte[] bytes, int index, int field, ulong value)
    {
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)shoff + index * 64 + field), value);
    }

    private static void PatchSectionHeader32(byte[] bytes, int index, int field, uint value)
    {
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)shoff + index * 64 + field), value);
    }
}
