using System.Diagnostics;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

internal sealed record LoadFigures(string Name, int Programs, Sample Warm, double[] FirstInProcessMs, Sample? Libbpf, string? LibbpfRefusal,
    AllocationFigures? Allocations, IReadOnlyList<(BpfCommand Command, double Calls, double Ms)> Calls,
    IReadOnlyList<(BpfCommand Command, double Calls, double Ms)>? LibbpfCalls);

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
        var cpu = new double[loads];
        var userCpu = new double[loads];
        var calls = new Dictionary<BpfCommand, (long Calls, double Ms)>();
        long allocated = 0;
        int gen0 = GC.CollectionCount(0);
        for (int i = 0; i < loads; i++)
        {
            SyscallStats.Current.Reset();
            long before = GC.GetAllocatedBytesForCurrentThread();
            var cpuBefore = ThreadCpu.Now();
            long start = Stopwatch.GetTimestamp();
            LoadOnce(path);
            totals[i] = Stats.Ms(start);
            var cpuAfter = ThreadCpu.Now();
            cpu[i] = cpuAfter.UserMs + cpuAfter.SystemMs - cpuBefore.UserMs - cpuBefore.SystemMs;
            userCpu[i] = cpuAfter.UserMs - cpuBefore.UserMs;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
            syscalls[i] = SyscallStats.Current.TotalElapsed.TotalMilliseconds;
            foreach (var (command, n, elapsed) in SyscallStats.Current.Snapshot())
            {
                var sum = calls.GetValueOrDefault(command);
                calls[command] = (sum.Calls + n, sum.Ms + elapsed.TotalMilliseconds);
            }
        }
        GC.KeepAlive(kernel);
        var warm = new Sample(totals, syscalls, allocated / (double)loads, (GC.CollectionCount(0) - gen0) / (double)loads, cpu, userCpu);
        var allocations = AllocationCount.Measure(path, 40);
        var perLoad = calls.Select(c => (c.Key, c.Value.Calls / (double)loads, c.Value.Ms / loads)).OrderBy(c => c.Key).ToList();
        var libbpfCalls = libbpf is null ? null : BenchPrerequisites.LibbpfCalls(libbpfHarness, path);
        return new LoadFigures(name, programs, warm, first, libbpf, refusal, allocations, perLoad, libbpfCalls);
    }

    /// <summary>Read, parse, relocate, load and close: the same work as libbpf's open + load + close.</summary>
    internal static int LoadOnce(string path)
    {
        using var collection = Collection.LoadFile(path);
        return collection.Programs.Count;
    }
}
