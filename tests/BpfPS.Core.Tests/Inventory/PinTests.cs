using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Inventory;

/// <summary>Pins in a fresh directory under /sys/fs/bpf, removed afterwards.</summary>
public class PinTests
{
    [SkippableFact]
    public void PinOpenFindAndUnpinAMap()
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        try
        {
            var path = Path.Combine(dir, "nested", "counts");
            uint id;
            using (var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 8, 2, name: "pinned_counts"))
            {
                id = BpfSyscall.GetMapInfo(map).Id;
                BpfPins.Pin(map, path);   // creates "nested" on the bpffs
            }

            using (var pinned = BpfPins.Open(path))
            {
                Assert.Equal(BpfObjectKind.Map, pinned.Kind);
                Assert.Equal(id, pinned.Id);
                Assert.Equal("pinned_counts", pinned.Name);
            }
            Assert.Equal(new PinEntry(path, BpfObjectKind.Map, id, "pinned_counts"), Assert.Single(PinIndex.Build([dir]).Pins));
            Assert.Equal([path], BpfInventory.GetMap(id, PinIndex.Build([dir]))!.PinnedPaths.ToArray());
            Assert.Equal([path], PinIndex.Build().PathsOf(BpfObjectKind.Map, id).ToArray());

            var wrongKind = Assert.Throws<InvalidDataException>(() => BpfPins.Open(path, BpfObjectKind.Program));
            Assert.Contains("holds a map, not a program", wrongKind.Message);

            BpfPins.Unpin(path);
            Assert.False(File.Exists(path));
            // A stale pin: opening or removing it again says nothing is there.
            Assert.Contains("nothing is pinned at", Assert.Throws<FileNotFoundException>(() => BpfPins.Open(path)).Message);
            Assert.Throws<FileNotFoundException>(() => BpfPins.Unpin(path));
            // The pin held the last reference; bpffs drops it after an RCU grace period, so give it a moment.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (BpfInventory.GetMap(id) is not null && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Assert.Null(BpfInventory.GetMap(id));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void PinAProgramAndFindItInTheListing()
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        try
        {
            var path = Path.Combine(dir, "prog");
            using var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(9), "pinned_prog");
            uint id = BpfSyscall.GetProgramInfo(prog).Id;
            BpfPins.Pin(prog, path);
            Assert.Equal(Errno.EEXIST, Assert.Throws<BpfSyscallException>(() => BpfPins.Pin(prog, path)).ErrorNumber);

            var listed = Assert.Single(BpfInventory.Programs(PinIndex.Build([dir])), p => p.Id == id);
            Assert.Equal([path], listed.PinnedPaths.ToArray());
            using var opened = BpfPins.Open(path, BpfObjectKind.Program);
            Assert.Equal(9u, BpfSyscall.ProgramTestRun(opened.Fd, new byte[64]).ReturnValue);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void PathsOffBpffsAreRefused()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
        var tmp = Path.Combine(Path.GetTempPath(), "bpfps-not-bpffs-" + Guid.NewGuid().ToString("N"));
        var error = Assert.Throws<ArgumentException>(() => BpfPins.Pin(map, tmp));
        Assert.Contains("not on a bpf filesystem", error.Message);
        Assert.False(File.Exists(tmp));

        File.WriteAllText(tmp, "not a pin");
        try
        {
            Assert.Throws<ArgumentException>(() => BpfPins.Unpin(tmp));
            Assert.True(File.Exists(tmp));   // never deletes an ordinary file
            Assert.Throws<ArgumentException>(() => BpfPins.Open(tmp));
        }
        finally
        {
            File.Delete(tmp);
        }
    }
}
