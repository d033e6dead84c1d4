using System.Collections;
using BpfPS.Core.Btf;
using BpfPS.Core.Elf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>
/// The independent reference: clang's own encoding of the <c>sample</c> initializer in tests/fixtures/map_values.c
/// (its .data.sample section) against the values written in that initializer, in both directions.
/// </summary>
public class CompiledInitializerTests
{
    private static (BtfSpec Btf, uint SampleId, byte[] Bytes) LoadSample()
    {
        Skip.IfNot(Fixtures.ClangAvailable || File.Exists(Path.Combine(Fixtures.RepositoryRoot, "build", "fixtures", "map_values.o")),
            "clang-14 is needed to compile tests/fixtures/map_values.c");
        var elf = ElfFile.Load(Fixtures.Path("map_values"));
        Assert.True(elf.TryGetSection(".BTF", out var btfSection));
        Assert.True(elf.TryGetSection(".data.sample", out var dataSection));
        var btf = BtfSpec.Parse(elf.GetData(btfSection), "map_values.o:.BTF");
        uint sampleId = btf.Types.OfType<BtfComposite>().Single(t => t.Name == "sample").Id;
        return (btf, sampleId, elf.GetData(dataSection).ToArray());
    }

    /// <summary>The initializer of <c>sample</c> in map_values.c, spelled as a PowerShell user would.</summary>
    private static Hashtable Initializer() => new()
    {
        ["tiny"] = -5,
        ["port"] = 8080,
        ["neg"] = -123456,
        ["big"] = 0xfedcba9876543210UL,
        ["on"] = true,
        ["name"] = "bpfps",
        ["mac"] = new object[] { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 },
        ["history"] = new object[] { -1, 0, 32767 },
        ["f"] = new Hashtable { ["ready"] = 1, ["level"] = 5, ["delta"] = -3, ["tint"] = "BLUE", ["wide"] = 0xabcdef0123L },
        ["word"] = 0x04030201,
        ["pair"] = new Hashtable { ["lo"] = 7, ["hi"] = 65535 },
        ["color"] = "GREEN",
        ["unnamed_color"] = 17,
        ["ratio"] = 0.5,
        ["precise"] = -2.25,
        ["ptr"] = 0x1234,
        ["matrix"] = new object[] { new object[] { 1, -2 }, new object[] { -3, 4 } },
    };

    [SkippableFact]
    public void DecodesWhatTheCompilerEncoded()
    {
        var (btf, id, bytes) = LoadSample();
        var sample = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(btf, id, bytes));

        Assert.Equal("struct sample", sample.TypeName);
        Assert.Equal((sbyte)-5, sample["tiny"]);
        Assert.Equal((ushort)8080, sample["port"]);
        Assert.Equal(-123456, sample["neg"]);
        Assert.Equal(0xfedcba9876543210UL, sample["big"]);
        Assert.Equal(true, sample["on"]);
        Assert.Equal("bpfps", sample["name"]);
        Assert.Equal(new byte[] { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 }, sample["mac"]);
        Assert.Equal(new object[] { (short)-1, (short)0, (short)32767 }, sample["history"]);

        var flags = Assert.IsType<BtfRecord>(sample["f"]);
        Assert.Equal(1u, flags["ready"]);
        Assert.Equal(5u, flags["level"]);
        Assert.Equal(-3, flags["delta"]);
        Assert.Equal("BLUE", flags["tint"]);
        Assert.Equal(0xabcdef0123UL, flags["wide"]);

        // The anonymous union's members read as members of sample itself, as in C.
        Assert.Equal(0x04030201u, sample["word"]);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, sample["quad"]);
        var pair = Assert.IsType<BtfRecord>(sample["pair"]);
        Assert.Equal((ushort)7, pair["lo"]);
        Assert.Equal((ushort)65535, pair["hi"]);

        Assert.Equal("GREEN", sample["color"]);
        Assert.Equal(17u, sample["unnamed_color"]);
        Assert.Equal(0.5f, sample["ratio"]);
        Assert.Equal(-2.25, sample["precise"]);
        Assert.Equal(0x1234UL, sample["ptr"]);
        Assert.Equal(new object[] { new object[] { 1L, -2L }, new object[] { -3L, 4L } }, sample["matrix"]);

        Assert.Equal(
            ["tiny", "port", "neg", "big", "on", "name", "mac", "history", "f", "word", "quad", "pair", "color", "unnamed_color", "ratio", "precise", "ptr", "matrix"],
            sample.Keys);
    }

    [SkippableFact]
    public void EncodesTheInitializerToTheCompilersBytes()
    {
        var (btf, id, bytes) = LoadSample();
        Assert.Equal(bytes, BtfValueCodec.Encode(btf, id, Initializer()));
    }

    [SkippableFact]
    public void DecodedRecordEncodesBackToTheSameBytes()
    {
        var (btf, id, bytes) = LoadSample();
        var codec = new BtfValueCodec(btf, id);
        var decoded = codec.Decode(bytes);
        Assert.Equal(bytes, codec.Encode(decoded));
        Assert.Equal(decoded, codec.Decode(codec.Encode(decoded)));
    }

    [SkippableFact]
    public void TooLongNameIsRefusedWithItsPath()
    {
        var (btf, id, _) = LoadSample();
        var value = Initializer();
        value["name"] = "a name of 20 bytes!!";
        var error = Assert.Throws<BtfValueException>(() => BtfValueCodec.Encode(btf, id, value));
        Assert.Equal("value.name: string of 20 bytes does not fit char[12]", error.Message);
        Assert.Equal("value.name", error.Path);
    }
}
