using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// SEC("?...") programs start with autoload off: parsed and inspectable, loaded only when asked for (the autoload fixture
/// has one program the verifier refuses, so loading everything fails).
/// </summary>
public class AutoloadTests
{
    [SkippableFact]
    public void QuestionMarkSectionsStartWithAutoloadOff()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("autoload"));

        Assert.True(spec.Programs["always_on"].AutoLoad);
        Assert.False(spec.Programs["rejected_unless_asked"].AutoLoad);
        Assert.False(spec.Programs["opt_in"].AutoLoad);
        // libbpf forgets the '?' once it has read it: the section is "xdp", the type XDP.
        Assert.Equal("xdp", spec.Programs["opt_in"].SectionName);
        Assert.Equal(BpfProgramType.Xdp, spec.Programs["opt_in"].Type);
    }

    [SkippableFact]
    public void ByDefaultOnlyAutoloadProgramsAreLoaded()
    {
        var spec = LoaderTestSupport.Spec("autoload");
        using var collection = Collection.Load(spec);

        Assert.Equal(["always_on"], collection.Programs.Keys);
        Assert.Equal(["rejected_unless_asked", "opt_in"], collection.SkippedPrograms);
        var info = BpfSyscall.GetProgramInfo(collection.Programs["always_on"].Fd);
        Assert.Equal(BpfProgramType.SocketFilter, info.Type);
        Assert.Equal("always_on", info.Name);
    }

    [SkippableFact]
    public void ProgramsOptionLoadsExactlyTheNamedOnes()
    {
        var spec = LoaderTestSupport.Spec("autoload");
        using var collection = Collection.Load(spec, new CollectionOptions { Programs = ["opt_in"] });

        Assert.Equal(["opt_in"], collection.Programs.Keys);
        Assert.Equal(["always_on", "rejected_unless_asked"], collection.SkippedPrograms);
        Assert.Equal(BpfProgramType.Xdp, BpfSyscall.GetProgramInfo(collection.Programs["opt_in"].Fd).Type);
        // The map every program shares is created all the same.
        Assert.True(collection.Maps.ContainsKey("autoload_hits"));
    }

    [SkippableFact]
    public void TurningAutoloadOnInTheSpecLoadsTheProgram()
    {
        var spec = LoaderTestSupport.Spec("autoload");
        spec.Programs["rejected_unless_asked"].AutoLoad = true;

        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec).Dispose());
        Assert.Equal("program 'rejected_unless_asked'", e.ObjectName);
        Assert.Equal(Errno.EACCES, e.ErrorNumber);
        Assert.Contains("invalid bpf_context access", e.VerifierLog);
    }

    [SkippableFact]
    public void AnUnknownProgramNameIsRefusedBeforeAnythingIsCreated()
    {
        var spec = LoaderTestSupport.Spec("autoload");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { Programs = ["always_on", "no_such_program"] }).Dispose());
        Assert.Equal("program 'no_such_program'", e.ObjectName);
        Assert.Contains("always_on, rejected_unless_asked, opt_in", e.Message);
        Assert.Contains(spec.Path, e.Message);
    }

    [SkippableFact]
    public void AProgArraySlotNamingASkippedProgramFailsTheLoadAsInLibbpf()
    {
        var spec = LoaderTestSupport.Spec("btf_maps");
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var pins);
        try
        {
            // jump_table's slot 1 is tail_target, which this load leaves out.
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { PinPath = options.PinPath, Programs = ["use_perf"] }).Dispose());
            Assert.Equal("map 'jump_table'", e.ObjectName);
            Assert.Contains("tail_target", e.Message);
            Assert.Equal(Errno.EBADF, e.ErrorNumber);
            if (LibbpfHarness.Available)
                Assert.Equal(-Errno.EBADF, LibbpfHarness.Dump(spec.Path, "use_perf").Failures["use_perf"]);
        }
        finally
        {
            Directory.Delete(pins, true);
        }
    }
}
