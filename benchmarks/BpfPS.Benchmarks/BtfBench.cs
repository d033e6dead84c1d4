using System.Diagnostics;
using BpfPS.Core.Btf;

namespace BpfPS.Benchmarks;

internal sealed record BtfFigures(
    Sample FreshParse,          // new spec from the file + name index + task_struct, in a warm process
    double[] FirstInProcessMs,  // the same, as the first thing a new process does (includes JIT)
    Sample? Libbpf, string? LibbpfRefusal,
    long RawBytes, long RetainedBytes,
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
        WarmUp.UntilJitSettles(() => OpenAndLookUp());
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
            long before = GC.GetAllocatedBytesForCurrentThread();
            double cpuBefore = ThreadCpu.TotalMs();
            long start = Stopwatch.GetTimestamp();
            OpenAndLookUp();
            totals[i] = Stats.Ms(start);
            cpu[i] = ThreadCpu.TotalMs() - cpuBefore;
            allocated += GC.GetAllocatedBytesForCurrentThread() - before;
        }
        var fresh = new Sample(totals, new double[runs], allocated / (double)runs, (GC.CollectionCount(0) - gen0) / (double)runs, cpu);
        var libbpf = libbpfRounds.Count == 0 ? null : Sample.Concat(libbpfRounds);

        // Memory the cached spec holds once it has served a lookup.
        long rawBytes = new FileInfo(Vmlinux).Length;
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        var spec = OpenAndLookUp();
        long retained = GC.GetTotalMemory(forceFullCollection: true) - baseline;

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

        return new BtfFigures(fresh, first, libbpf, refusal, rawBytes, retained, ns, bytes, typeCount);
    }

    internal static BtfSpec OpenAndLookUp()
    {
        var spec = BtfSpec.LoadFile(Vmlinux);
        Lookup(spec);
        return spec;
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
