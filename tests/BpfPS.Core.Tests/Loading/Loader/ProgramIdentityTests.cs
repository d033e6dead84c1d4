using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// A program's id and tag are asked of the kernel when first read rather than at load (a load of many programs makes no
/// info call per program, as libbpf makes none): what is read must still be the kernel's, and stay readable after close.
/// </summary>
public class ProgramIdentityTests
{
    [SkippableFact]
    public void ALoadMakesNoInfoCallPerProgram()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        SyscallStats.Current.Reset();
        using var collection = Collection.Load(spec);
        // One per map (its id and key/value types) and one for the object's BTF id; none for the programs.
        long expected = collection.Maps.Count + (collection.BtfFd is null ? 0 : 1);
        Assert.Equal(expected, SyscallStats.Current.CallCount(BpfCommand.ObjGetInfoByFd));
        Assert.Equal(collection.Programs.Count, SyscallStats.Current.CallCount(BpfCommand.ProgLoad));
    }

    [SkippableFact]
    public void IdAndTagAreTheKernelsAndSurviveClosing()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        var collection = Collection.Load(spec);
        var program = collection.Programs.Values.First();
        var info = BpfSyscall.GetProgramInfo(program.Fd);
        Assert.Equal(info.Id, program.Id);
        Assert.Equal(info.Tag, program.Tag);
        Assert.Matches("^[0-9a-f]{16}$", program.Tag);

        collection.Dispose();
        Assert.Equal(info.Id, program.Id);     // read before closing: kept
        Assert.Equal(info.Tag, program.Tag);
    }

    [SkippableFact]
    public void AnIdFirstReadAfterClosingIsZero()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        var collection = Collection.Load(spec);
        var program = collection.Programs.Values.First();
        collection.Dispose();
        Assert.Equal(0u, program.Id);
        Assert.Equal("", program.Tag);
    }
}
