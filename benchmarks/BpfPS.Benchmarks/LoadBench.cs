using System.Diagnostics;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

internal sealed record LoadFigures(string Name, int Programs, Sample Warm, double[] FirstInProcessMs, Sample? Libbpf, string? LibbpfRefusal, AllocationFigures? Allocations);

internal static class LoadBench
{
    public static LoadFigures Run(string name, string path, string libbpfHarness, int loads)
    {
        var libbpf = BenchPrerequisites.Libbpf(libbpfHarness, $"load \"{path}\" {loads}", out var refusal);
        var first = Enumerable.Range(0, 3).Select(_ => FirstInProcess.Spawn("load", path)).ToArray();

        // Warm: this process already holds the shared kernel spec, as a runspace would after its first load.
        var kernel = KernelBtf.GetVmlinux();
        int programs = 0;
        WarmUp.UntilJitSettles(() => programs = LoadOnce(path));

        var totals = new double[loads];
        var syscalls = new double[loads];
        long allocated = 0;
        int gen0 = GC.CollectionCount(0);
        for (int i = 0; i < loads; i++)
        {
            SyscallStats.Current.Reset();
            long before = GC.GetAllocatedBytesForCurrentThread();
            long start = Stopwatch.GetTimestamp();
            LoadOnce(path);
            totals[i] = Stats.Ms(start);
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            syscalls[i] = SyscallStats.Current.TotalElapsed.TotalMilliseconds;
        }
        GC.KeepAlive(kernel);
        var warm = new Sample(totals, syscalls, allocated / (double)loads, (GC.CollectionCount(0) - gen0) / (double)loads);
        var allocations = AllocationCount.Measure(path, 40);
        return new LoadFigures(name, programs, warm, first, libbpf, refusal, allocations);
    }

    /// <summary>Read, parse, relocate, load and close: the same work as libbpf's open + load + close.</summary>
    internal static int LoadOnce(string path)
    {
        using var collection = Collection.LoadFile(path);
        return collection.Programs.Count;
    }
}
