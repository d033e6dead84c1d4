using System.Globalization;
using System.Text.RegularExpressions;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Tests.Elf;

// The independent source for what an object holds is llvm-readelf-14 (LLVM's own ELF reader).
public class ElfFileTests
{
    public static readonly TheoryData<string> FixtureNames = new() { "multi_prog", "btf_maps", "global_data", "subprogs", "externs", "legacy_maps" };

    private static string? ReadElf => Fixtures.FindTool("llvm-readelf-14");

    private static string RunReadElf(string flag, string path)
    {
        var (code, stdout, stderr) = Fixtures.Run(ReadElf!, flag, "-W", path);
        Assert.True(code == 0, stderr);
        return stdout;
    }

    [SkippableTheory]
    [MemberData(nameof(FixtureNames))]
    public void SectionsMatchLlvmReadelf(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable && ReadElf is not null, "clang-14 and llvm-readelf-14 are needed");
        string path = Fixtures.Path(fixture);
        var elf = ElfFile.Load(path);

        var rows = Regex.Matches(RunReadElf("-S", path),
            @"^\s*\[\s*(\d+)\]\s(.*?)\s+(\S+)\s+[0-9a-f]{16}\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([A-Za-z]*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$",
            RegexOptions.Multiline);
        Assert.Equal(rows.Count, elf.Sections.Count);
        foreach (Match row in rows)
        {
            var s = elf.Sections[int.Parse(row.Groups[1].Value, CultureInfo.InvariantCulture)];
            Assert.Equal(row.Groups[2].Value, s.Name);
            Assert.Equal(Hex(row.Groups[4].Value), s.Offset);
            Assert.Equal(Hex(row.Groups[5].Value), s.Size);
            Assert.Equal(Hex(row.Groups[6].Value), s.EntrySize);
            Assert.Equal(row.Groups[7].Value.Contains('X'), s.IsExecutable);
            Assert.Equal(row.Groups[7].Value.Contains('W'), s.IsWritable);
            Assert.Equal(uint.Parse(row.Groups[8].Value, CultureInfo.InvariantCulture), s.Link);
            Assert.Equal(uint.Parse(row.Groups[9].Value, CultureInfo.InvariantCulture), s.Info);
            string expectedType = row.Groups[3].Value switch
            {
                "NULL" => "Null", "PROGBITS" => "ProgBits", "STRTAB" => "StringTable", "SYMTAB" => "SymbolTable",
                "REL" => "Rel", "NOBITS" => "NoBits", "LLVM_ADDRSIG" => "LlvmAddrsig", var other => other,
            };
            Assert.Equal(expectedType, s.Type.ToString());
        }
    }

    [SkippableTheory]
    [MemberData(nameof(FixtureNames))]
    public void SymbolsMatchLlvmReadelf(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable && ReadElf is not null, "clang-14 and llvm-readelf-14 are needed");
        string path = Fixtures.Path(fixture);
        var elf = ElfFile.Load(path);

        var rows = Regex.Matches(RunReadElf("-s", path),
            @"^\s*(\d+):\s+([0-9a-f]{16})\s+(\d+)\s+(\w+)\s+(\w+)\s+(\w+)\s+(\w+)\s?(.*)$", RegexOptions.Multiline);
        Assert.Equal(rows.Count, elf.Symbols.Count);
        foreach (Match row in rows)
        {
            var sym = elf.Symbols[int.Parse(row.Groups[1].Value, CultureInfo.InvariantCulture)];
            Assert.Equal(Hex(row.Groups[2].Value), sym.Value);
            Assert.Equal(ulong.Parse(row.Groups[3].Value, CultureInfo.InvariantCulture), sym.Size);
            Assert.Equal(row.Groups[4].Value, sym.Type switch
            {
                ElfSymbolType.NoType => "NOTYPE", ElfSymbolType.Object => "OBJECT", ElfSymbolType.Func => "FUNC",
                ElfSymbolType.Section => "SECTION", ElfSymbolType.File => "FILE", var t => t.ToString(),
            });
            Assert.Equal(row.Groups[5].Value, sym.Binding.ToString().ToUpperInvariant());
            Assert.Equal(row.Groups[6].Value, sym.Visibility.ToString().ToUpperInvariant());
            string ndx = row.Groups[7].Value;
            ushort expectedIndex = ndx switch { "UND" => 0, "ABS" => ElfConstants.SectionAbsolute, "COM" => ElfConstants.SectionCommon, _ => ushort.Parse(ndx, CultureInfo.InvariantCulture) };
            Assert.Equal(expectedIndex, sym.SectionIndex);
            // readelf names section symbols after their section; the string table holds "" for them.
            if (sym.Type != ElfSymbolType.Section) Assert.Equal(row.Groups[8].Value.TrimEnd(), sym.Name);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(FixtureNames))]
    public void RelocationsMatchLlvmReadelf(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable && ReadElf is not null, "clang-14 and llvm-readelf-14 are needed");
        string path = Fixtures.Path(fixture);
        var elf = ElfFile.Load(path);

        string output = RunReadElf("-r", path);
        var blocks = Regex.Split(output, @"^Relocation section '", RegexOptions.Multiline).Skip(1).ToList();
        Assert.Equal(elf.Sections.Count(s => s.Type == ElfSectionType.Rel), blocks.Count);
        foreach (var block in blocks)
        {
            string name = block[..block.IndexOf('\'')];
            Assert.True(elf.TryGetSection(name, out var section));
            var ours = elf.ReadRelocations(section);
            var rows = Regex.Matches(block, @"^([0-9a-f]{16})\s+([0-9a-f]{16})\s+(\S+)", RegexOptions.Multiline);
            Assert.Equal(rows.Count, ours.Length);
            for (int i = 0; i < ours.Length; i++)
            {
                ulong info = Hex(rows[i].Groups[2].Value);
                Assert.Equal(Hex(rows[i].Groups[1].Value), ours[i].Offset);
                Assert.Equal((uint)(info >> 32), ours[i].SymbolIndex);
                Assert.Equal((uint)info, (uint)ours[i].Type);
                string expectedName = rows[i].Groups[3].Value switch
                {
                    "R_BPF_64_64" => nameof(BpfRelocationType.Bpf64_64), "R_BPF_64_ABS64" => nameof(BpfRelocationType.Bpf64Abs64),
                    "R_BPF_64_ABS32" => nameof(BpfRelocationType.Bpf64Abs32), "R_BPF_64_NODYLD32" => nameof(BpfRelocationType.Bpf64NoDyld32),
                    "R_BPF_64_32" => nameof(BpfRelocationType.Bpf64_32), var other => other,
                };
                Assert.Equal(expectedName, ours[i].Type.ToString());
            }
        }
    }

    [SkippableFact]
    public void ReadsTheSharedBenchmarkObject()
    {
        string path = Path.Combine(Fixtures.RepositoryRoot, "..", "shared", "bench", "cilium-manyprogs-el.elf");
        if (!File.Exists(path)) path = "/work/shared/bench/cilium-manyprogs-el.elf";
        Skip.IfNot(File.Exists(path), "shared/bench/cilium-manyprogs-el.elf is not present");
        var elf = ElfFile.Load(path);
        // 30 kprobe sections, per shared/README.md.
        Assert.Equal(30, elf.Sections.Count(s => s.IsExecutable && s.Name.StartsWith("kprobe/", StringComparison.Ordinal)));
        Assert.True(elf.TryGetSection("maps", out var maps));
        Assert.Equal(20ul, maps.Size);
        Assert.Contains(elf.Symbols, s => s.Name == "kprobe_map" && s.SectionIndex == maps.Index);
    }

    [SkippableFact]
    public void GetDataIsASliceNotACopy()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        var bytes = Fixtures.Bytes("multi_prog");
        var elf = ElfFile.Parse(bytes, "multi_prog.o");
        Assert.True(elf.TryGetSection("license", out var license));
        var data = elf.GetData(license);
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(data, out var segment));
        Assert.Same(bytes, segment.Array);
        Assert.Equal((int)license.Offset, segment.Offset);
        Assert.Equal("GPL", System.Text.Encoding.ASCII.GetString(data.Span[..3]));
    }

    private static ulong Hex(string s) => ulong.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
