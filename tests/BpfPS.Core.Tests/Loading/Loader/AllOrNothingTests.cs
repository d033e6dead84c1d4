using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>Descriptor counts are process-wide: these tests run alone so other tests' descriptors don't blur them.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DescriptorCountingCollection
{
    public const string Name = "descriptor counting";
}

/// <summary>
/// A failure at any kernel step — BTF, the Nth map, the Nth program — must leave nothing behind: no descriptors, no
/// kernel objects, no new pins (and pins that existed before stay).
/// </summary>
[Collection(DescriptorCountingCollection.Name)]
public class AllOrNothingTests
{
    public static TheoryData<BpfCommand, int> Faults()
    {
        // A BTF_LOAD failure is not fatal for btf_maps (nothing in it needs its BTF): see the BTF facts below.
        var data = new TheoryData<BpfCommand, int>();
        // btf_maps: 14 maps (two map-in-map templates and a BTF retry make more MAP_CREATE calls) and 3 programs.
        for (int n = 1; n <= 17; n++) data.Add(BpfCommand.MapCreate, n);
        for (int n = 1; n <= 3; n++) data.Add(BpfCommand.ProgLoad, n);
        data.Add(BpfCommand.MapUpdateElem, 1);   // initialising slots
        data.Add(BpfCommand.ObjPin, 1);
        data.Add(BpfCommand.ObjGetInfoByFd, 5);
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Faults))]
    public void FailureAtAnyStepClosesEverythingAndRemovesNewPins(BpfCommand command, int ordinal)
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var dir);
        try
        {
            using (var warmUp = Collection.Load(spec, options)) { } // first use of lazy caches (vmlinux BTF, CPU count) happens here
            foreach (var f in Directory.GetFiles(dir)) File.Delete(f);

            int before = KernelTestSupport.OpenFdCount();
            BpfLoadException e;
            var calls = new List<(BpfCommand, int)>();
            using (BpfFaultInjection.Inject((c, n) => { calls.Add((c, n)); return c == command && n >= ordinal ? Errno.ENOMEM : null; }))
                e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options));

            Skip.IfNot(calls.Contains((command, ordinal)), $"loading btf_maps makes fewer than {ordinal} {command} calls");
            Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
            Assert.Equal(spec.Path, e.ObjectPath);
            Assert.Equal(before, KernelTestSupport.OpenFdCount());
            Assert.Empty(Directory.GetFileSystemEntries(dir)); // pinned_lru was pinned by this load (or not at all): gone
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void ABtfFailureOfAnObjectThatNeedsItsBtfClosesEverything()
    {
        var spec = LoaderTestSupport.Spec("btf_required");
        using (Collection.Load(spec)) { }
        int before = KernelTestSupport.OpenFdCount();
        BpfLoadException e;
        using (BpfFaultInjection.FailFrom(BpfCommand.BtfLoad, 1, Errno.ENOMEM))
            e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
        Assert.Equal("BTF", e.ObjectName);
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
    }

    [SkippableFact]
    public void ABtfFailureOfAnObjectThatDoesNotNeedItLoadsWithoutItAndLeaksNothing()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var dir);
        try
        {
            using (Collection.Load(spec, options)) { }
            int before = KernelTestSupport.OpenFdCount();
            using (BpfFaultInjection.FailFrom(BpfCommand.BtfLoad, 1, Errno.ENOMEM))
            using (var collection = Collection.Load(spec, options))
            {
                Assert.Null(collection.BtfFd);
                Assert.Contains("ENOMEM", Assert.Single(collection.Warnings));
                Assert.All(collection.Maps.Values.Where(m => !m.IsReusedPin), m => Assert.Equal(0u, BpfSyscall.GetMapInfo(m.Fd).BtfId));
            }
            Assert.Equal(before, KernelTestSupport.OpenFdCount());
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void PinsThatExistedBeforeSurviveAFailedLoad()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var dir);
        try
        {
            using (Collection.Load(spec, options)) { }         // creates the pin
            var pin = Path.Combine(dir, "pinned_lru");
            using (BpfFaultInjection.FailFrom(BpfCommand.ProgLoad, 1, Errno.ENOMEM))
                Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options));
            Assert.True(File.Exists(pin));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void AHundredFailedLoadsLeakNothing()
    {
        var spec = LoaderTestSupport.Spec("verifier_reject");
        Assert.Throws<BpfLoadException>(() => Collection.Load(spec)); // warm-up
        int before = KernelTestSupport.OpenFdCount();
        for (int i = 0; i < 100; i++)
            Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
    }

    [SkippableFact]
    public void VerifierRejectionCarriesTheWholeLogAndItsTail()
    {
        var spec = LoaderTestSupport.Spec("verifier_reject");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal("program 'out_of_bounds'", e.ObjectName);
        Assert.Equal(Errno.EACCES, e.ErrorNumber);
        Assert.False(e.IsPermissionDenied);
        Assert.NotNull(e.VerifierLog);
        Assert.Contains("invalid access to map value", e.VerifierLog);
        Assert.Contains("invalid access to map value", e.Message);    // the tail is in the message
        Assert.Contains(spec.Path, e.Message);
        Assert.True(e.VerifierLog!.Length >= e.Message.Length / 2);
    }

    [SkippableFact]
    public void PoisonedCoreRelocationIsExplained()
    {
        var spec = LoaderTestSupport.Spec("core_unguarded");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Contains("poisoned by CO-RE relocation", e.Message);
        Assert.Contains("no_such_field", e.Message);
        Assert.Contains("195896080", e.VerifierLog);
    }

    [SkippableFact]
    public void PermissionFailuresAreFlagged()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        using (BpfFaultInjection.FailFrom(BpfCommand.MapCreate, 1, Errno.EPERM)) // FailFrom: the retry without BTF fails too
        {
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
            Assert.True(e.IsPermissionDenied);
            Assert.Equal("map 'hits'", e.ObjectName);
        }
    }
}
