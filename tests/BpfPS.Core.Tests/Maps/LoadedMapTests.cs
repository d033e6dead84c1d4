using BpfPS.Core.Loading;
using BpfPS.Core.Maps;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Maps;

/// <summary>Maps of a collection loaded from tests/fixtures/map_values.c, read after its program ran.</summary>
public class LoadedMapTests
{
    private static Collection LoadFixture()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Fixtures.ClangAvailable || File.Exists(Path.Combine(Fixtures.RepositoryRoot, "build", "fixtures", "map_values.o")),
            "clang-14 is needed to compile tests/fixtures/map_values.c");
        return Collection.LoadFile(Fixtures.Path("map_values"));
    }

    [SkippableFact]
    public void ProgramWritesWhatMapEntriesReads()
    {
        using var collection = LoadFixture();
        var stats = MapEntries.For(collection.Maps["stats"]);
        var program = collection.Programs["count_packets"];

        // The program counts a packet under the key of its first byte.
        var packet = new byte[64];
        packet[0] = 5;
        program.TestRun(packet);
        program.TestRun(packet);

        var entry = Assert.Single(stats.Enumerate());
        Assert.Equal(5u, entry.Key);
        var value = Assert.IsType<BtfRecord>(entry.Value);
        Assert.Equal(2UL, value["packets"]);
        Assert.Equal(128UL, value["bytes"]);
        Assert.Equal(64u, value["last_len"]);
        Assert.Equal("new", value["tag"]);

        var hits = MapEntries.For(collection.Maps["percpu_hits"]);
        var perCpu = Assert.IsType<object?[]>(hits.Get(0));
        Assert.Equal(2UL, perCpu.Cast<ulong>().Aggregate(0UL, (a, b) => a + b));
    }

    [SkippableFact]
    public void EnumValuesAndStructKeysFromTheObjectsBtf()
    {
        using var collection = LoadFixture();
        var colors = MapEntries.For(collection.Maps["colors"]);
        colors.Set(1, "BLUE");
        Assert.Equal("BLUE", colors.Get(1));
        Assert.Equal(0u, colors.Get(0));   // index 0 holds 0, which is no enumerator of enum color

        var flows = MapEntries.For(collection.Maps["flows"]);
        flows.Set(new System.Collections.Hashtable { ["addr"] = 0x0a000001, ["port"] = 53, ["proto"] = 17 }, 3);
        var flow = Assert.IsType<BtfRecord>(Assert.Single(flows.Keys()));
        Assert.Equal((ushort)53, flow["port"]);
    }
}
