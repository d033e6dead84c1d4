using System.Diagnostics;
using BpfPS.Core.Btf;

namespace BpfPS.Benchmarks;

internal sealed record BtfFigures(
    Sample FreshParse,          // the runspace cache's cold path: KernelBtf.GetVmlinux + name index + task_struct, warm process
    Sample FileParse,           // a spec read from a file (-KernelBtf, BTFHub): BtfSpec.LoadFile + name index + task_struct
    double[] FirstInProcessMs,  // the same, as the first thing a new process does (includes JIT)
    Sample? Libbpf, string? LibbpfRefusal,
    long RawBytes, long RetainedBytes, long KernelCacheRetainedBytes, bool KernelBytesMapped,
    double WarmLookupNs, double WarmLookupBytes, int TypeCount);

internal static class BtfBench
{
    private const string Vmlinux = "/sys/kernel/btf/vmlinux";

    public static BtfFigures Run(string libbpfHarness, string root)
    {
        const int rounds = 4, perRound = 5, runs = rounds * perRound;
        var first = Enumerable.Range(0, 5).Select(_ => FirstInProcess.Spawn("btf")).ToArray();

        // Fresh parses in this (warm) process: what a runspace pays the first time it needs kernel BTF. Alternating with
        // libbpf's rounds, so both see the same machine.
        WarmUp.UntilJitSettles(() => { DropKernelCache(); OpenAndLookUp(); });
        var totals = new double[runs];
        var cpu = new double[runs];
        var libbpfRounds = new List<Sample>();
        string? refusal = null;
        long allocated = 0;
        int gen0 = GC.CollectionCount(0);
        for (int i = 0; i < runs; i++)
        {
            if (i % perRound == 0 && refusal is null && BenchPrerequisites.Libbpf(libbpfHarness, $"btf {perRound}", out refusal) is { } theirs)
                libbpfRounds.Add(theirs);
            DropKernelCache();
            int parses = KernelBtf.ParseCount;
            long before = GC.GetAllocatedBytesForCurrentThread();
            double cpuBefore = ThreadCpu.TotalMs();
            long start = Stopwatch.GetTimestamp();
            OpenAndLookUp();
            totals[i] = Stats.Ms(start);
            if (KernelBtf.ParseCount != parses + 1)
                throw new InvalidOperationException("the kernel BTF cache was not cold: the measurement would time a cache hit");
            cpu[i] = ThreadCpu.TotalMs() - cpuBefore;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var fresh = new Sample(totals, new double[runs], allocated / (double)runs, (GC.CollectionCount(0) - gen0) / (double)runs, cpu);
        var libbpf = libbpfRounds.Count == 0 ? null : Sample.Concat(libbpfRounds);

        // The same from a file: what -KernelBtf (a BTFHub file) costs, bytes read into memory rather than mapped.
        var fileTotals = new double[perRound];
        for (int i = 0; i < perRound; i++)
        {
            long start = Stopwatch.GetTimestamp();
            LoadFileAndLookUp();
            fileTotals[i] = Stats.Ms(start);
        }
        var fileParse = new Sample(fileTotals, new double[perRound], double.NaN, double.NaN, new double[perRound]);

        // Memory a spec holds once it has served a lookup: read from a file (all bytes managed), and the kernel cache's
        // (vmlinux bytes mapped from the kernel's own copy where the kernel allows it, so only the index is managed).
        long rawBytes = new FileInfo(Vmlinux).Length;
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        var spec = LoadFileAndLookUp();
        long retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        DropKernelCache();
        long cacheBaseline = GC.GetTotalMemory(forceFullCollection: true);
        var cached = OpenAndLookUp();
        long cacheRetained = GC.GetTotalMemory(forceFullCollection: true) - cacheBaseline;
        GC.KeepAlive(cached);

        // Warm lookups by name.
        const int lookups = 200_000;
        for (int i = 0; i < 1000; i++) Lookup(spec);
        long allocBefore = GC.GetAllocatedBytesForCurrentThread();
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < lookups; i++) Lookup(spec);
        double ns = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / lookups;
        double bytes = (GC.GetAllocatedBytesForCurrentThread() - allocBefore) / (double)lookups;
        int typeCount = spec.TypeCount;
        GC.KeepAlive(spec);

        return new BtfFigures(fresh, fileParse, first, libbpf, refusal, rawBytes, retained, cacheRetained, KernelBtf.VmlinuxIsMapped, ns, bytes, typeCount);
    }

    /// <summary>What the runspace cache does on first need: the shared vmlinux spec, then a lookup.</summary>
    internal static BtfSpec OpenAndLookUp()
    {
        var spec = KernelBtf.GetVmlinux();
        Lookup(spec);
        return spec;
    }

    private static BtfSpec LoadFileAndLookUp()
    {
        var spec = BtfSpec.LoadFile(Vmlinux);
        Lookup(spec);
        return spec;
    }

    /// <summary>Lets the process's weakly held kernel spec go, so the next GetVmlinux parses anew (a cold cache).</summary>
    private static void DropKernelCache()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static void Lookup(BtfSpec spec)
    {
        var ids = spec.FindByName("task_struct");
        foreach (var id in ids)
            if (spec.GetKind(id) == BtfKind.Struct) { _ = spec.GetType(id); return; }
        throw new InvalidOperationException("task_struct not found in kernel BTF");
    }
}

/// <summary>Work done as the first thing in a fresh process, so it includes JIT and an empty kernel BTF cache.</summary>
internal static class FirstInProcess
{
    public static int Run(string[] args)
    {
        long start = Stopwatch.GetTimestamp();
        if (args[0] == "btf")
            BtfBench.OpenAndLookUp();
        else
            LoadBench.LoadOnce(args[1]);
        Console.WriteLine(Stopwatch.GetElapsedTime(start).TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    }

    public static double Spawn(params string[] args)
    {
        var self = Environment.ProcessPath!;
        var dll = typeof(FirstInProcess).Assembly.Location;
        var arguments = (self.EndsWith("dotnet") ? $"\"{dll}\" " : "") + "--first-in-process " + string.Join(' ', args.Select(a => $"\"{a}\""));
        var output = BenchPrerequisites.Run(self, arguments);
        return double.Parse(output.Trim().Split('\n').Last(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
