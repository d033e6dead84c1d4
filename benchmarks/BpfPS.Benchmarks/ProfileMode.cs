using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

/// <summary>
/// <c>--profile &lt;object&gt; [loads]</c>: warm loads of one object with the bpf() calls broken down per command and the
/// user-space work split into its syscall-free phases (parse, relocate). For finding where a load's time goes, and as a
/// steady loop to attach dotnet-trace to (<c>--profile x.o 2000</c>).
/// </summary>
internal static class ProfileMode
{
    public static int Run(string path, int loads)
    {
        var kernel = KernelBtf.GetVmlinux();
        for (int i = 0; i < 5; i++) LoadBench.LoadOnce(path);

        var parse = new double[loads];
        var relocate = new double[loads];
        var total = new double[loads];
        var close = new double[loads];
        var inBpf = new double[loads];
        var userCpu = new double[loads];
        var systemCpu = new double[loads];
        var perCommand = new Dictionary<BpfCommand, (long Calls, double Ms)>();
        long parseBytes = 0, relocateBytes = 0, loadBytes = 0;
        for (int i = 0; i < loads; i++)
        {
            long b0 = GC.GetAllocatedBytesForCurrentThread();
            long t0 = Stopwatch.GetTimestamp();
            var spec = CollectionSpec.Load(path);
            parse[i] = Stats.Ms(t0);
            long b1 = GC.GetAllocatedBytesForCurrentThread();
            t0 = Stopwatch.GetTimestamp();
            ProgramRelocator.RelocateAll(spec, ProgramRelocator.CreateEnvironment(spec));
            relocate[i] = Stats.Ms(t0);
            long b2 = GC.GetAllocatedBytesForCurrentThread();

            SyscallStats.Current.Reset();
            var cpu0 = ThreadCpu.Now();
            t0 = Stopwatch.GetTimestamp();
            var collection = Collection.LoadFile(path);
            long closing = Stopwatch.GetTimestamp();
            collection.Dispose();
            total[i] = Stats.Ms(t0);
            close[i] = Stats.Ms(closing);
            var cpu1 = ThreadCpu.Now();
            userCpu[i] = cpu1.UserMs - cpu0.UserMs;
            systemCpu[i] = cpu1.SystemMs - cpu0.SystemMs;
            long b3 = GC.GetAllocatedBytesForCurrentThread();
            inBpf[i] = SyscallStats.Current.TotalElapsed.TotalMilliseconds;
            foreach (var (command, calls, elapsed) in SyscallStats.Current.Snapshot())
            {
                var sum = perCommand.GetValueOrDefault(command);
                perCommand[command] = (sum.Calls + calls, sum.Ms + elapsed.TotalMilliseconds);
            }
            parseBytes += b1 - b0;
            relocateBytes += b2 - b1;
            loadBytes += b3 - b2;
        }
        GC.KeepAlive(kernel);

        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        Console.WriteLine($"{Path.GetFileName(path)}: {loads} warm loads, medians (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
        Console.WriteLine($"  parse only        {F(Stats.Median(parse))} ms  {parseBytes / loads / 1024} KiB");
        Console.WriteLine($"  relocate only     {F(Stats.Median(relocate))} ms  {relocateBytes / loads / 1024} KiB (incl. environment)");
        Console.WriteLine($"  full load         {F(Stats.Median(total))} ms  {loadBytes / loads / 1024} KiB");
        Console.WriteLine($"    inside bpf()    {F(Stats.Median(inBpf))} ms");
        Console.WriteLine($"    user space      {F(Stats.Median(total.Zip(inBpf, (t, s) => t - s).ToArray()))} ms, of which closing the descriptors {F(Stats.Median(close))} ms");
        Console.WriteLine($"    thread CPU      {F(userCpu.Average() + systemCpu.Average())} ms: {F(userCpu.Average())} user + {F(systemCpu.Average())} system (getrusage; the split is tick-sampled, so means)");
        foreach (var (command, (calls, ms)) in perCommand.OrderByDescending(p => p.Value.Ms))
            Console.WriteLine($"    {command,-20} {calls / (double)loads,8:0.0} calls/load {F(ms / loads),9} ms/load");
        return 0;
    }
}

/// <summary>
/// The calling thread's CPU time from getrusage(RUSAGE_THREAD): user and kernel time separately, and unlike wall time
/// not inflated when other processes compete for the two cores.
/// </summary>
internal static unsafe class ThreadCpu
{
    private const int RusageThread = 1;

    public static (double UserMs, double SystemMs) Now()
    {
        // struct rusage starts with ru_utime and ru_stime (struct timeval: seconds, microseconds); 18 longs in all.
        long* usage = stackalloc long[18];
        if (getrusage(RusageThread, usage) != 0) return (double.NaN, double.NaN);
        return (usage[0] * 1e3 + usage[1] / 1e3, usage[2] * 1e3 + usage[3] / 1e3);
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, long* usage);
}
