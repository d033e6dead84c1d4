using System.Diagnostics;
using System.Globalization;
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
        int warmUps = WarmUp.UntilJitSettles(() =>
        {
            ProgramRelocator.RelocateAll(CollectionSpec.Load(path), ProgramRelocator.CreateEnvironment(CollectionSpec.Load(path)));
            LoadBench.LoadOnce(path);
        });

        var parse = new Phase(loads);
        var relocate = new Phase(loads);
        var load = new Phase(loads);
        var close = new double[loads];
        var inBpf = new double[loads];
        var perCommand = new Dictionary<BpfCommand, (long Calls, double Ms)>();
        for (int i = 0; i < loads; i++)
        {
            parse.Start();
            var spec = CollectionSpec.Load(path);
            parse.Stop(i);
            relocate.Start();
            ProgramRelocator.RelocateAll(spec, ProgramRelocator.CreateEnvironment(spec));
            relocate.Stop(i);

            SyscallStats.Current.Reset();
            load.Start();
            var collection = Collection.LoadFile(path, LoadBench.Serial);
            long closing = Stopwatch.GetTimestamp();
            collection.Dispose();
            close[i] = Stats.Ms(closing);
            load.Stop(i);
            inBpf[i] = SyscallStats.Current.TotalElapsed.TotalMilliseconds;
            foreach (var (command, calls, elapsed) in SyscallStats.Current.Snapshot())
            {
                var sum = perCommand.GetValueOrDefault(command);
                perCommand[command] = (sum.Calls + calls, sum.Ms + elapsed.TotalMilliseconds);
            }
        }
        GC.KeepAlive(kernel);

        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        Console.WriteLine($"{Path.GetFileName(path)}: {loads} warm loads after {warmUps} to settle the JIT (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}); " +
                          "wall: median; thread CPU (getrusage; user/system split is tick-sampled): mean; allocated: mean");
        Console.WriteLine($"  parse only        {parse.Describe()}");
        Console.WriteLine($"  relocate only     {relocate.Describe()} (environment included)");
        Console.WriteLine($"  full load+close   {load.Describe()}");
        Console.WriteLine($"    inside bpf()    {F(Stats.Median(inBpf))} ms wall");
        Console.WriteLine($"    outside bpf()   {F(Stats.Median(load.Wall.Zip(inBpf, (t, s) => t - s).ToArray()))} ms wall, of which closing the descriptors {F(Stats.Median(close))} ms");
        foreach (var (command, (calls, ms)) in perCommand.OrderByDescending(p => p.Value.Ms))
            Console.WriteLine($"    {command,-20} {calls / (double)loads,8:0.0} calls/load {F(ms / loads),9} ms/load");

        if (AllocationCount.Measure(path, 40) is { } a)
        {
            Console.WriteLine($"  allocations per load (counted in a child): ~{a.EstimatedObjectsPerLoad:0} objects ({a.ObjectsPerLoad:0} reported), {a.BytesPerLoad / 1024:0} KiB (events reported {a.SampledBytesPerLoad / 1024:0} KiB); most bytes:");
            foreach (var (type, objects, bytes) in a.TopTypes)
                Console.WriteLine($"    {bytes / 1024,8:0.0} KiB {objects,8:0.0} x {type}");
        }
        return 0;
    }

    /// <summary>Wall time, thread CPU time and managed allocation of one step, per iteration.</summary>
    private sealed class Phase(int count)
    {
        public readonly double[] Wall = new double[count];
        private readonly double[] _user = new double[count], _system = new double[count];
        private readonly long[] _bytes = new long[count];
        private long _start, _startBytes;
        private (double UserMs, double SystemMs) _startCpu;

        public void Start()
        {
            _startBytes = GC.GetAllocatedBytesForCurrentThread();
            _startCpu = ThreadCpu.Now();
            _start = Stopwatch.GetTimestamp();
        }

        public void Stop(int i)
        {
            Wall[i] = Stats.Ms(_start);
            var cpu = ThreadCpu.Now();
            _user[i] = cpu.UserMs - _startCpu.UserMs;
            _system[i] = cpu.SystemMs - _startCpu.SystemMs;
            _bytes[i] = GC.GetAllocatedBytesForCurrentThread() - _startBytes;
        }

        public string Describe()
        {
            static string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
            return $"{F(Stats.Median(Wall))} ms wall, {F(_user.Average() + _system.Average())} ms CPU ({F(_user.Average())} user + " +
                   $"{F(_system.Average())} system), {_bytes.Average() / 1024:0} KiB";
        }
    }
}
