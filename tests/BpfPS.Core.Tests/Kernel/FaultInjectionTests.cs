using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

public class FaultInjectionTests
{
    [SkippableFact]
    public void TheNthCallFailsWithTheChosenErrnoAndOthersPass()
    {
        KernelTestSupport.RequireBpf();
        using (BpfFaultInjection.FailNth(BpfCommand.MapCreate, 2, Errno.ENOMEM))
        {
            using var first = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
            var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1));
            Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
            Assert.Equal(BpfCommand.MapCreate, e.Command);
            using var third = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
        }
        using var after = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
    }

    [SkippableFact]
    public async Task ScopesDoNotLeakIntoOtherFlows()
    {
        KernelTestSupport.RequireBpf();
        using var gate = new SemaphoreSlim(0);
        // Another flow that starts outside the scope must not see it, even while the scope is active.
        var other = Task.Run(async () =>
        {
            await gate.WaitAsync();
            using var m = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
            return true;
        });
        using (BpfFaultInjection.FailFrom(BpfCommand.MapCreate, 1, Errno.EPERM))
        {
            gate.Release();
            Assert.True(await other);
            var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1));
            Assert.True(e.IsPermissionDenied);
            Assert.Contains(Environment.IsPrivilegedProcess ? "although this process is privileged" : "CAP_BPF", e.Message);
        }
    }

    [SkippableFact]
    public void StatsCountCallsPerCommand()
    {
        KernelTestSupport.RequireBpf();
        var stats = SyscallStats.Current;
        stats.Reset();
        using var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
        for (int i = 0; i < 3; i++) BpfSyscall.MapLookup(map, new byte[4], new byte[4]);
        Assert.Equal(1, stats.CallCount(BpfCommand.MapCreate));
        Assert.Equal(3, stats.CallCount(BpfCommand.MapLookupElem));
        Assert.Equal(4, stats.TotalCalls);
        Assert.True(stats.Elapsed(BpfCommand.MapCreate) > TimeSpan.Zero);
        stats.Reset();
        Assert.Equal(0, stats.TotalCalls);
    }
}
