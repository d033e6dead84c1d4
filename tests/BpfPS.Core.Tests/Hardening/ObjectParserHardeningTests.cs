using System.Buffers.Binary;
using BpfPS.Core.Elf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>Object-parser inputs the fuzzer found crashing, rebuilt by hand from a fixture so the cause is plain.</summary>
public class ObjectParserHardeningTests
{
    [SkippableFact]
    public void LegacyMapsSectionWithoutFileDataIsAFormatError()
    {
        // Found by the object fuzz target (object-exception-49e75ac28db3): a "maps" section whose type says it has no
        // bytes in the file (NULL/NOBITS) but whose size covers the map symbols made the parser slice past its (empty)
        // data: ArgumentOutOfRangeException instead of a format error.
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        byte[] bytes = Fixtures.Bytes("legacy_maps");
        var elf = ElfFile.Parse(bytes, "legacy_maps.o");
        Assert.True(elf.TryGetSection("maps", out var maps));
        ulong sectionHeaders = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(40));
        const uint ShtNobits = 8;
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)sectionHeaders + maps.Index * 64 + 4), ShtNobits);

        var e = Assert.Throws<BpfFormatException>(() => CollectionSpec.Parse(bytes, "legacy_maps.o"));

        Assert.Equal("legacy_maps.o", e.File);
        Assert.Equal("maps", e.Section);
    }
}
