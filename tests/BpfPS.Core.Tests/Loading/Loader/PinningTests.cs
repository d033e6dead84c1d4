using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

public class PinningTests
{
    // libbpf adjust_ringbuf_sz: a power-of-two multiple of the page size, at least the request.
    [Theory]
    [InlineData(0u, 0u)]
    [InlineData(4096u, 4096u)]
    [InlineData(4097u, 8192u)]
    [InlineData(3 * 4096u, 4 * 4096u)]
    [InlineData(256 * 1024u, 256 * 1024u)]
    [InlineData(1u, 4096u)]
    public void RingBufferSizesRoundUpToPowerOfTwoPages(uint requested, uint expected) =>
        Assert.Equal(expected, MapDefinition.RoundRingBuffer(requested, 4096));

    [Fact]
    public void PinPathIsRootSlashMapName()
    {
        var map = new MapSpec { Name = "counts", Pinning = MapPinning.ByName };
        Assert.Equal("/sys/fs/bpf/counts", Pinning.PathFor(map, null));
        Assert.Equal("/mnt/pins/counts", Pinning.PathFor(map, "/mnt/pins"));
    }

    [Fact]
    public void IncompatibilityNamesEveryDifference()
    {
        var pinned = new BpfMapInfo { Type = BpfMapType.Hash, KeySize = 4, ValueSize = 8, MaxEntries = 10, Flags = 0 };
        Assert.Null(Pinning.Incompatibility(pinned, new MapDefinition(BpfMapType.Hash, 4, 8, 10, 0, 0)));
        var why = Pinning.Incompatibility(pinned, new MapDefinition(BpfMapType.Array, 4, 16, 10, 1, 0));
        Assert.Contains("type Hash (want Array)", why);
        Assert.Contains("value size 8 (want 16)", why);
        Assert.Contains("flags 0x0 (want 0x1)", why);
        Assert.DoesNotContain("key size", why);
    }

    [Fact]
    public void PerfEventArrayWithoutSizeGetsOneSlotPerPossibleCpu()
    {
        var spec = new MapSpec { Name = "events", Type = BpfMapType.PerfEventArray, KeySize = 4, ValueSize = 4 };
        var expected = PossibleCpus.Parse(File.ReadAllText("/sys/devices/system/cpu/possible"));
        Assert.Equal((uint)expected, MapDefinition.For(spec).MaxEntries);
    }

    [Theory]
    [InlineData("0-3", 4)]
    [InlineData("0", 1)]
    [InlineData("0,2-5\n", 5)]
    public void PossibleCpuListsAreCounted(string list, int count) => Assert.Equal(count, PossibleCpus.Parse(list));
}
