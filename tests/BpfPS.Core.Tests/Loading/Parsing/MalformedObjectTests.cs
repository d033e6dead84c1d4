using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Elf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

// Whatever is wrong with an object, parsing reports BpfFormatException naming the file: never another exception.
public class MalformedObjectTests
{
    private const string Name = "broken.o";

    private static byte[] Fixture(string name)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        return Fixtures.Bytes(name);
    }

    private static BpfFormatException Fails(byte[] bytes)
    {
        var ex = Assert.Throws<BpfFormatException>(() => CollectionSpec.Parse(bytes, Name));
        Assert.Equal(Name, ex.File);
        return ex;
    }

    [SkippableTheory]
    [InlineData("subprogs")]
    [InlineData("externs")]
    [InlineData("btf_maps")]
    [InlineData("struct_ops_cc")]
    public void TruncationsAreFormatErrors(string fixture)
    {
        var bytes = Fixture(fixture);
        for (int length = 0; length < bytes.Length; length += 53)
            Fails(bytes.AsSpan(0, length).ToArray());
    }

    [SkippableTheory]
    [InlineData("subprogs", 1)]
    [InlineData("externs", 2)]
    [InlineData("btf_maps", 3)]
    [InlineData("global_data", 4)]
    [InlineData("struct_ops_cc", 5)]
    public void RandomCorruptionNeverEscapesAsAnotherException(string fixture, int seed)
    {
        var original = Fixture(fixture);
        var random = new Random(seed);
        for (int round = 0; round < 300; round++)
        {
            var bytes = (byte[])original.Clone();
            for (int k = 0; k < 3; k++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
            try
            {
                CollectionSpec.Parse(bytes, Name);
            }
            catch (BpfFormatException e)
            {
                Assert.Equal(Name, e.File);
            }
        }
    }

    /// <summary>Flips aimed at what the parser reads: .BTF, .BTF.ext, .maps, the symbol table, relocations and code.</summary>
    [SkippableTheory]
    [InlineData("subprogs", 11)]
    [InlineData("externs", 12)]
    [InlineData("btf_maps", 13)]
    [InlineData("struct_ops_cc", 14)]
    public void CorruptionOfParsedSectionsNeverEscapesAsAnotherException(string fixture, int seed)
    {
        var original = Fixture(fixture);
        var elf = ElfFile.Parse(original, Name);
        var targets = elf.Sections.Where(s => s.Name is ".BTF" or ".BTF.ext" or ".maps" or ".struct_ops" or ".symtab" || s.Type == ElfSectionType.Rel && !s.Name.Contains("debug") || s.IsExecutable)
            .Where(s => s.Size > 0).ToArray();
        var random = new Random(seed);
        for (int round = 0; round < 600; round++)
        {
            var bytes = (byte[])original.Clone();
            var section = targets[random.Next(targets.Length)];
            for (int k = 0; k < 2; k++)
            {
                int at = (int)section.Offset + random.Next((int)section.Size);
                bytes[at] = random.Next(3) == 0 ? (byte)random.Next(256) : (byte)(bytes[at] ^ (1 << random.Next(8)));
            }
            try
            {
                CollectionSpec.Parse(bytes, Name);
            }
            catch (BpfFormatException e)
            {
                Assert.Equal(Name, e.File);
            }
        }
    }

    [SkippableFact]
    public void RelocationAgainstASectionWithoutMapsOrDataIsRejected()
    {
        var bytes = Fixture("multi_prog");
        var elf = ElfFile.Parse(bytes, Name);
        var rel = elf.Sections.First(s => s.Name == ".relxdp");
        var license = elf.Symbols.First(s => s.Name == "LICENSE");
        PatchRelocationSymbol(bytes, rel, 0, license.Index);
        var ex = Fails(bytes);
        Assert.Equal(".relxdp", ex.Section);
        Assert.Contains("LICENSE", ex.Message);
        Assert.Contains("'license'", ex.Message);
    }

    [SkippableFact]
    public void RelocationOnAPlainInstructionIsRejected()
    {
        var bytes = Fixture("multi_prog");
        var elf = ElfFile.Parse(bytes, Name);
        var rel = elf.Sections.First(s => s.Name == ".relxdp");
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)rel.Offset), 0); // first instruction: not a ld_imm64
        var ex = Fails(bytes);
        Assert.Contains("not a call or ld_imm64", ex.Message);
        Assert.Equal((long)rel.Offset, ex.Offset);
    }

    [SkippableFact]
    public void RelocationSymbolIndexOutOfRangeIsRejected()
    {
        var bytes = Fixture("multi_prog");
        var elf = ElfFile.Parse(bytes, Name);
        PatchRelocationSymbol(bytes, elf.Sections.First(s => s.Name == ".relsocket"), 1, elf.Symbols.Count + 10);
        Assert.Equal(".relsocket", Fails(bytes).Section);
    }

    [SkippableFact]
    public void UnknownSectionNameNamesSectionAndProgram()
    {
        var bytes = Fixture("multi_prog");
        ReplaceSectionName(bytes, "socket", "sockex");
        var ex = Fails(bytes);
        Assert.Contains("sockex", ex.Message);
        Assert.Contains("socket_first", ex.Message);
    }

    [SkippableFact]
    public void MissingSymbolTableIsRejected()
    {
        var bytes = Fixture("multi_prog");
        var elf = ElfFile.Parse(bytes, Name);
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)shoff + elf.SymbolTableIndex * 64 + 4), (uint)ElfSectionType.ProgBits);
        Assert.Contains("symbol table", Fails(bytes).Message);
    }

    [SkippableFact]
    public void CorruptBtfIsAFormatErrorNamingTheFile()
    {
        var bytes = Fixture("btf_maps");
        var elf = ElfFile.Parse(bytes, Name);
        Assert.True(elf.TryGetSection(".BTF", out var btf));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)btf.Offset + 12), 0x7fffffff); // type_len
        Fails(bytes);
    }

    private static void PatchRelocationSymbol(byte[] bytes, ElfSection rel, int entry, int symbol)
    {
        int at = (int)rel.Offset + entry * 16 + 8;
        ulong info = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), (info & 0xffffffff) | ((ulong)(uint)symbol << 32));
    }

    /// <summary>Rewrites a section's name in place (same length), wherever its name string starts.</summary>
    private static void ReplaceSectionName(byte[] bytes, string from, string to)
    {
        var elf = ElfFile.Parse(bytes, Name);
        ushort names = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(62));
        var table = elf.Sections[names];
        ulong shoff = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        var section = elf.Sections.First(s => s.Name == from);
        uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)shoff + section.Index * 64));
        Encoding.ASCII.GetBytes(to).CopyTo(bytes, (int)table.Offset + (int)nameOffset);
    }
}
