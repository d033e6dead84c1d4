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
    /// <summary>Rounds that alternate libbpf and BpfPS, so both see the same machine: its load changes by the minute.</summary>
    private const int Rounds = 5;

    public static LoadFigures Run(string name, string path, string libbpfHarness, int loads)
    {
        var first = Enumerable.Range(0, 3).Select(_ => FirstInProcess.Spawn("load", path)).ToArray();

        // Warm: this process already holds the shared kernel spec, as a runspace would after its first load.
        var kernel = KernelBtf.GetVmlinux();
        int programs = 0;
        WarmUp.UntilJitSettles(() => programs = LoadOnce(path));

        var totals = new List<double>();
        var syscalls = new List<double>();
        var cpu = new List<double>();
        var userCpu = new List<double>();
        var calls = new Dictionary<BpfCommand, (long Calls, double Ms)>();
        var libbpfRounds = new List<Sample>();
        string? refusal = null;
        long allocated = 0;
        int gen0 = GC.CollectionCount(0);
        int perRound = Math.Max(1, loads / Rounds);
        for (int round = 0; round < Rounds; round++)
        {
            if (refusal is null && BenchPrerequisites.Libbpf(libbpfHarness, $"load \"{path}\" {perRound}", out refusal, skipFirst: true) is { } theirs)
                libbpfRounds.Add(theirs);
            for (int i = 0; i < perRound; i++)
            {
                SyscallStats.Current.Reset();
                long before = GC.GetAllocatedBytesForCurrentThread();
                var cpuBefore = ThreadCpu.Now();
                long start = Stopwatch.GetTimestamp();
                LoadOnce(path);
                totals.Add(Stats.Ms(start));
                var cpuAfter = ThreadCpu.Now();
                cpu.Add(cpuAfter.UserMs + cpuAfter.SystemMs - cpuBefore.UserMs - cpuBefore.SystemMs);
                userCpu.Add(cpuAfter.UserMs - cpuBefore.UserMs);
                allocated += GC.GetAllocatedBytesForCurrentThread() - before;
                syscalls.Add(SyscallStats.Current.TotalElapsed.TotalMilliseconds);
                foreach (var (command, n, elapsed) in SyscallStats.Current.Snapshot())
                {
                    var sum = calls.GetValueOrDefault(command);
                    calls[command] = (sum.Calls + n, sum.Ms + elapsed.TotalMilliseconds);
                }
            }
        }
        GC.KeepAlive(kernel);
        int measured = totals.Count;
        var warm = new Sample([.. totals], [.. syscalls], allocated / (double)measured, (GC.CollectionCount(0) - gen0) / (double)measured, [.. cpu], [.. userCpu]);
        var libbpf = libbpfRounds.Count == 0 ? null : Sample.Concat(libbpfRounds);
        var allocations = AllocationCount.Measure(path, 40);
        var perLoad = calls.Select(c => (c.Key, c.Value.Calls / (double)measured, c.Value.Ms / measured)).OrderBy(c => c.Key).ToList();
        var libbpfCalls = libbpf is null ? null : BenchPrerequisites.LibbpfCalls(libbpfHarness, path);
        return new LoadFigures(name, programs, warm, first, libbpf, refusal, allocations, perLoad, libbpfCalls);
    }

    /// <summary>
    /// One program at a time: these figures are the core's floor on one thread (its CPU time and allocations are read
    /// from the loading thread); the pwsh sessions benchmark measures parallel loads.
    /// </summary>
    internal static readonly CollectionOptions Serial = new() { MaxParallelism = 1 };

    /// <summary>Read, parse, relocate, load and close: the same work as libbpf's open + load + close.</summary>
    internal static int LoadOnce(string path)
    {
        using var collection = Collection.LoadFile(path, Serial);
        return collection.Programs.Count;
    }
}
