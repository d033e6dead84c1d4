using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>LIBBPF_PIN_BY_NAME maps (btf_maps.c's pinned_lru): created and pinned once, reused while compatible.</summary>
public class PinningLoadTests
{
    [SkippableFact]
    public void PinnedMapIsCreatedOnceThenReused()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var dir);
        try
        {
            var pin = Path.Combine(dir, "pinned_lru");
            uint firstId;
            using (var first = Collection.Load(spec, options))
            {
                var map = first.Maps["pinned_lru"];
                Assert.Equal(pin, map.PinnedPath);
                Assert.False(map.IsReusedPin);
                Assert.True(File.Exists(pin));
                firstId = map.Id;
                map.Update(BitConverter.GetBytes(5UL), BitConverter.GetBytes(55u));
                Assert.Null(first.Maps["hash_map"].PinnedPath);
            }
            Assert.True(File.Exists(pin)); // the pin outlives the collection

            using (var second = Collection.Load(spec, options))
            {
                var map = second.Maps["pinned_lru"];
                Assert.True(map.IsReusedPin);
                Assert.Equal(firstId, map.Id);
                Assert.Equal(55u, BitConverter.ToUInt32(map.Lookup(BitConverter.GetBytes(5UL))!));
            }
            using var pinned = BpfSyscall.ObjectGet(pin);
            Assert.Equal(firstId, BpfSyscall.GetMapInfo(pinned).Id);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void IncompatiblePinIsAnErrorAndIsLeftAlone()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var dir);
        try
        {
            var pin = Path.Combine(dir, "pinned_lru");
            uint strangerId;
            using (var stranger = BpfSyscall.MapCreate(BpfMapType.Hash, 8, 4, 1000))
            {
                BpfSyscall.ObjectPin(stranger, pin);
                strangerId = BpfSyscall.GetMapInfo(stranger).Id;
            }
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options));
            Assert.Equal("map 'pinned_lru'", e.ObjectName);
            Assert.Contains("incompatible", e.Message);
            Assert.Contains("type Hash (want LruHash)", e.Message);
            using var still = BpfSyscall.ObjectGet(pin); // the existing pin survives the failed load
            Assert.Equal(strangerId, BpfSyscall.GetMapInfo(still).Id);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void PinningOutsideBpffsExplainsWhy()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var dir = Directory.CreateTempSubdirectory("bpfps-notbpffs").FullName;
        try
        {
            Skip.If(BpfFileSystem.IsBpfFs(dir), "the temp directory is on a bpffs");
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { PinPath = dir }));
            Assert.Equal("map 'pinned_lru'", e.ObjectName);
            Assert.Contains("not on a bpffs", e.Message);
            Assert.Empty(Directory.GetFileSystemEntries(dir));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
