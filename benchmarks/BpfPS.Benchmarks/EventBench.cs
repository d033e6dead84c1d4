using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using BpfPS.Core.Events;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

/// <summary>
/// `build.ps1 bench` events part (`--events`): draining 1M pre-filled 64-byte ring buffer records, raw with
/// <see cref="RingBufferReader"/> against libbpf's ring_buffer__consume in alternating rounds, decoded into objects, and
/// through Receive-BpfEvent into Measure-Object in a fresh pwsh; then sustained getpid() producers (--producers threads,
/// --seconds) through a ring buffer and a perf buffer, with what the reader saw against what the kernel counted; with
/// --stream-seconds, a steady stream (--stream-rate events/s) through Receive-BpfEvent -Type in a fresh pwsh whose managed
/// heap and RSS are sampled every 30 s. Writes its own section at the end of docs/performance.md.
/// </summary>
internal static partial class EventBench
{
    private const string Start = "<!-- events benchmark: start -->", End = "<!-- events benchmark: end -->";

    public static int Run(string[] args)
    {
        int records = Program.ArgInt(args, "--records", 1_000_000);
        int rounds = Program.ArgInt(args, "--rounds", 5);
        int seconds = Program.ArgInt(args, "--seconds", 30);
        int producers = Program.ArgInt(args, "--producers", 2);
        int streamSeconds = Program.ArgInt(args, "--stream-seconds", 0);
        int streamRate = Program.ArgInt(args, "--stream-rate", 20_000);
        var root = RepoRoot.Find();
        var work = Path.Combine(root, "build", "bench");
        Directory.CreateDirectory(work);
        string obj = Path.Combine(work, "events_bench.o");
        BenchPrerequisites.Run("clang-14", $"-target bpf -O2 -g -I/usr/include/{Environment.GetEnvironmentVariable("HOSTTYPE") ?? "x86_64"}-linux-gnu -c {Path.Combine(root, "benchmarks", "fixtures", "events_bench.c")} -o {obj}");
        string harness = Path.Combine(work, "bench_events");
        BenchPrerequisites.Run("gcc", $"-O2 -o {harness} {Path.Combine(root, "benchmarks", "libbpf", "bench_events.c")} -lbpf");

        var report = new StringBuilder();
        report.AppendLine(Start).AppendLine();
        report.AppendLine("## Events: ring buffer and perf buffer readers");
        report.AppendLine();
        report.AppendLine($"Measured by `build.ps1 bench` (`BpfPS.Benchmarks --events`) on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, kernel {Environment.OSVersion.Version}, " +
            $"{Environment.ProcessorCount} CPUs, load average {LoadAverage()} (the machine is shared: CPU time is the figure to compare, wall time is shown beside it).");
        report.AppendLine();

        Console.WriteLine($"== Ring buffer drain: {records} pre-filled 64-byte records, {rounds} rounds each, alternating");
        using var collection = Collection.LoadFile(obj, new CollectionOptions { Constants = new Dictionary<string, object> { ["target_tgid"] = (uint)Environment.ProcessId } });
        var drain = DrainRounds(collection, harness, obj, records, rounds);
        report.Append(drain);

        Console.WriteLine("== Receive-BpfEvent -Type event | Measure-Object (fresh pwsh)");
        report.Append(CmdletRound(root, obj, records));

        Console.WriteLine($"== Sustained getpid() producers ({producers} threads), {seconds} s per buffer kind");
        report.Append(Sustained(collection, seconds, producers));

        if (streamSeconds > 0)
        {
            Console.WriteLine($"== Receive-BpfEvent -Type event streaming {streamRate} events/s for {streamSeconds} s (fresh pwsh), memory every 30 s");
            report.Append(Stream(root, collection, streamSeconds, streamRate));
        }

        report.AppendLine(End);
        DocSection.Write(Path.Combine(root, "docs", "performance.md"), Start, End, report.ToString());
        Console.WriteLine(report.ToString());
        return 0;
    }

    private static string DrainRounds(Collection collection, string harness, string obj, int records, int rounds)
    {
        var fill = collection.Programs["fill"];
        using var reader = new RingBufferReader(collection.Maps["fill_ring"].Fd);
        var decoder = EventDecoder.ForType(collection.Spec.Btf!, "event");
        var packet = new byte[64];
        var raw = new List<(double Wall, double Cpu)>();
        var decoded = new List<(double Wall, double Cpu)>();
        var libbpf = new List<(double Wall, double Cpu)>();
        long count = 0, bytes = 0;
        void Count(ReadOnlySpan<byte> record, int cpu) { count++; bytes += record.Length; }
        object? last = null;
        void Decode(ReadOnlySpan<byte> record, int cpu) { last = decoder.Decode(record); count++; }

        (double, double) Time(EventRecordHandler handler)
        {
            fill.TestRun(packet, repeat: (uint)records);
            count = 0;
            double cpu = ThreadCpuMs();
            long start = Stopwatch.GetTimestamp();
            reader.Read(handler);
            double wall = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            cpu = ThreadCpuMs() - cpu;
            if (count != records) throw new InvalidOperationException($"drained {count} records, expected {records}");
            return (wall, cpu);
        }

        Time(Count);   // warm-up: JIT, and the first touch of the ring's pages
        for (int round = 0; round < rounds; round++)
        {
            // A fresh harness maps a fresh ring: its first two rounds fault in the 128 MiB (72 MiB per round), so the third
            // is the warm one, as BpfPS's rounds are after its warm-up.
            var lines = BenchPrerequisites.Run(harness, $"ringbuf {obj} {records} 3").Split('\n', StringSplitOptions.RemoveEmptyEntries);
            var fields = lines[^1].Split(' ');
            if (long.Parse(fields[0], CultureInfo.InvariantCulture) != records) throw new InvalidOperationException($"libbpf drained {fields[0]} records");
            libbpf.Add((double.Parse(fields[1], CultureInfo.InvariantCulture) / 1e6, double.Parse(fields[2], CultureInfo.InvariantCulture) / 1e6));
            raw.Add(Time(Count));
            decoded.Add(Time(Decode));
            Console.WriteLine($"  round {round + 1}: libbpf {libbpf[^1].Cpu:F1} ms CPU, BpfPS raw {raw[^1].Cpu:F1} ms, decoded {decoded[^1].Cpu:F1} ms");
        }
        GC.KeepAlive(last);

        double Rate(List<(double Wall, double Cpu)> s, bool cpu) => records / (Stats.Median(s.Select(x => cpu ? x.Cpu : x.Wall).ToArray()) / 1000);
        var text = new StringBuilder();
        text.AppendLine($"### Draining {records:N0} pre-filled 64-byte records ({rounds} rounds, medians)");
        text.AppendLine();
        text.AppendLine("| reader | CPU ms | records/s (CPU) | wall ms | records/s (wall) |");
        text.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var (name, s) in new[] { ("libbpf 1.1 `ring_buffer__consume`", libbpf), ("BpfPS `RingBufferReader.Read`, raw spans", raw), ("BpfPS raw + `EventDecoder` (BTF objects)", decoded) })
            text.AppendLine($"| {name} | {Stats.Median(s.Select(x => x.Cpu).ToArray()):F1} | {Rate(s, true):N0} | {Stats.Median(s.Select(x => x.Wall).ToArray()):F1} | {Rate(s, false):N0} |");
        text.AppendLine();
        double ratio = Rate(raw, true) / Rate(libbpf, true);
        text.AppendLine($"Raw BpfPS against libbpf (CPU): **{ratio:F2}x** (target: at least 0.8x). Both hand each record to a callback that counts it; " +
            "libbpf's is a C function pointer, BpfPS's a delegate over a span into the mapping (no allocation per record). CPU time is the draining thread's " +
            "(CLOCK_THREAD_CPUTIME_ID), both sides measured with the ring's pages already faulted in. Each round first fills the ring with " +
            "BPF_PROG_TEST_RUN (repeat = records) of a program that calls `bpf_ringbuf_output` with BPF_RB_NO_WAKEUP.");
        text.AppendLine();
        return text.ToString();
    }

    private static string CmdletRound(string root, string obj, int records)
    {
        var module = Path.Combine(root, "out", "BpfPS", "BpfPS.psd1");
        if (!File.Exists(module)) return $"(Receive-BpfEvent not measured: {module} is missing; run build.ps1 build.)\n\n";
        var script = $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{module}}'
            $c = Import-BpfCollection '{{obj}}'
            $packet = [byte[]]::new(64)
            function Measure-Drain([string] $Kind, [scriptblock] $Drain) {
                Invoke-BpfProgram $c.Programs.fill -Data $packet -Repeat {{records}} | Out-Null
                $self = [Diagnostics.Process]::GetCurrentProcess()
                $cpu = $self.TotalProcessorTime
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $count = & $Drain
                $watch.Stop()
                $self.Refresh()
                "$Kind $count $($watch.Elapsed.TotalMilliseconds) $(($self.TotalProcessorTime - $cpu).TotalMilliseconds)"
            }
            $results = @(
                foreach ($round in 1..3) { Measure-Drain typed { (Receive-BpfEvent $c.Maps.fill_ring -Type event -Timeout 0 | Measure-Object).Count } }
                Measure-Drain raw { (Receive-BpfEvent $c.Maps.fill_ring -Timeout 0 | Measure-Object).Count }
            )
            $results
            """;
        var scriptPath = Path.Combine(Path.GetTempPath(), $"bpfps-events-bench-{Environment.ProcessId}.ps1");
        File.WriteAllText(scriptPath, script);
        try
        {
            var psi = new ProcessStartInfo("dotnet", $"pwsh -NoProfile -File {scriptPath}") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var output = p.StandardOutput.ReadToEnd();
            var error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            var rounds = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim().Split(' '))
                .Where(f => f.Length == 4 && long.TryParse(f[1], out _))
                .Select(f => (Kind: f[0], Count: long.Parse(f[1]), Ms: double.Parse(f[2], CultureInfo.InvariantCulture), CpuMs: double.Parse(f[3], CultureInfo.InvariantCulture))).ToList();
            var raw = rounds.FirstOrDefault(r => r.Kind == "raw");
            rounds = rounds.Where(r => r.Kind == "typed").ToList();
            if (rounds.Count == 0) return $"(Receive-BpfEvent not measured: pwsh failed: {error.Trim()})\n\n";
            var best = rounds.Skip(1).DefaultIfEmpty(rounds[0]).ToList();
            double median = Stats.Median(best.Select(r => r.Ms).ToArray());
            double cpuMedian = Stats.Median(best.Select(r => r.CpuMs).ToArray());
            foreach (var r in rounds.Append(raw)) Console.WriteLine($"  {r.Kind}: {r.Count} records in {r.Ms:F0} ms ({r.CpuMs:F0} ms CPU)");
            return $"### Receive-BpfEvent into Measure-Object\n\n`Receive-BpfEvent $c.Maps.fill_ring -Type event -Timeout 0 | Measure-Object` in a fresh pwsh, {records:N0} pre-filled records per round " +
                $"(3 rounds, the first dropped as warm-up): median {cpuMedian:F0} ms of the process's CPU time (all its threads), " +
                $"**{records / (cpuMedian / 1000):N0} records/s per CPU second** decoded into instances of the class generated for the struct (`BpfPS.Records.event`, " +
                $"typed properties read straight from the record's bytes; target: 500k/s); median {median:F0} ms wall, {records / (median / 1000):N0} records/s wall. " +
                $"Counts seen: {string.Join(", ", rounds.Select(r => r.Count))}. Without -Type (raw BpfEventRecord objects) the same pipeline takes {raw.CpuMs:F0} ms CPU, " +
                $"{records / (raw.CpuMs / 1000):N0} records/s: the pipeline's own cost per object is most of what is left.\n\n";
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }

    private static string Sustained(Collection collection, int seconds, int producers)
    {
        var text = new StringBuilder();
        text.AppendLine($"### Sustained producers: a program on syscalls:sys_enter_getpid, one 64-byte record per getpid() of {producers} threads each in a tight loop, {seconds} s");
        text.AppendLine();
        text.AppendLine("| buffer | getpid/s (all threads) | calls made | sent (kernel) | refused (kernel) | received | lost (reader) | reader CPU s | reader CPU % | managed heap growth |");
        text.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var kind in new[] { "ring", "perf" })
        {
            var counts = collection.Maps["counts"];
            ResetCounts(counts);
            using EventReader reader = kind == "ring" ? new RingBufferReader(collection.Maps["live_ring"].Fd) : new PerfBufferReader(collection.Maps["live_perf"].Fd);
            using var link = TracepointLinks.Attach(collection.Programs[kind == "ring" ? "getpid_ring" : "getpid_perf"], "syscalls", "sys_enter_getpid");
            long received = 0;
            double readerCpu = 0;
            var stop = new ManualResetEventSlim();
            long heapBefore = GC.GetTotalMemory(true);
            var consumer = new Thread(() =>
            {
                double cpu = ThreadCpu.TotalMs();
                void Handle(ReadOnlySpan<byte> r, int c) => received++;
                while (!stop.IsSet)
                {
                    if (reader.Read(Handle) == 0)
                        _ = reader is RingBufferReader ring ? ring.Wait(50) : ((PerfBufferReader)reader).Wait(50);
                }
                reader.Read(Handle);
                readerCpu = (ThreadCpu.TotalMs() - cpu) / 1000;
            }) { IsBackground = true, Name = "event reader" };
            consumer.Start();
            long calls = 0;
            var watch = Stopwatch.StartNew();
            // Each producer counts its own calls: the program counts what it sent, so calls = sent + filtered-out = sent.
            var threads = Enumerable.Range(0, producers).Select(n => new Thread(() =>
            {
                long mine = 0;
                while (watch.Elapsed.TotalSeconds < seconds)
                {
                    for (int i = 0; i < 1000; i++) GetPid();
                    mine += 1000;
                }
                Interlocked.Add(ref calls, mine);
            }) { IsBackground = true, Name = $"getpid producer {n}" }).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            double elapsed = watch.Elapsed.TotalSeconds;
            link.Dispose();
            Thread.Sleep(200);
            stop.Set();
            consumer.Join();
            long heapAfter = GC.GetTotalMemory(true);
            var (sent, refused) = ReadCounts(counts);
            long lost = reader.LostSamples;
            Console.WriteLine($"  {kind}: {calls / elapsed:N0} getpid/s, kernel sent {sent} refused {refused}, received {received}, reader lost {lost}");
            text.AppendLine($"| {(kind == "ring" ? "ring buffer, 16 MiB" : $"perf buffer, {PerfBufferReader.DefaultPagesPerCpu} pages per CPU")} | {calls / elapsed:N0} | {calls:N0} | {sent:N0} | {refused:N0} | {received:N0} | {lost:N0} | {readerCpu:F1} | {100 * readerCpu / elapsed:F0} | {(heapAfter - heapBefore) / 1024.0:F0} KiB |");
        }
        text.AppendLine();
        text.AppendLine("Sent and refused are the program's own counts (a per-CPU array: every call, and every `bpf_ringbuf_output` / `bpf_perf_event_output` that returned an error); " +
            "received is what the reader handed on and lost what perf's PERF_RECORD_LOST records said. For the ring buffer, refused = 0 means no event was lost; " +
            "for the perf buffer, lost (reader) = refused (kernel) means the loss is reported exactly. Calls made is the producers' own count (it equals sent when the program saw every call). " +
            "The reader is one thread draining with `RingBufferReader`/`PerfBufferReader` and counting; its CPU is per second of the run. The managed heap is measured after a full collection before and after the run.");
        text.AppendLine();
        return text.ToString();
    }

    /// <summary>
    /// Streams getpid() events at a steady rate for <paramref name="seconds"/> through `Receive-BpfEvent -Type event | Measure-Object`
    /// in a fresh pwsh that samples its managed heap (after a full collection) and RSS every 30 s.
    /// </summary>
    private static string Stream(string root, Collection collection, int seconds, int rate)
    {
        var module = Path.Combine(root, "out", "BpfPS", "BpfPS.psd1");
        if (!File.Exists(module)) return $"(Stream not measured: {module} is missing; run build.ps1 build.)\n\n";
        var ring = collection.Maps["live_ring"];
        var script = $$"""
            $ErrorActionPreference = 'Stop'
            Import-Module '{{module}}'
            Add-Type -TypeDefinition @'
            using System;
            using System.Diagnostics;
            using System.IO;
            using System.Threading;
            public static class StreamSampler
            {
                private static readonly ManualResetEventSlim s_done = new ManualResetEventSlim();
                private static Stopwatch s_watch;
                private static Thread s_thread;
                public static void Start(int periodMs)
                {
                    s_watch = Stopwatch.StartNew();
                    Sample();
                    s_thread = new Thread(() =>
                    {
                        long next = periodMs;
                        while (!s_done.Wait((int)Math.Max(0, next - s_watch.ElapsedMilliseconds))) { Sample(); next += periodMs; }
                    }) { IsBackground = true };
                    s_thread.Start();
                }
                public static void Stop() { s_done.Set(); s_thread.Join(); Sample(); }
                private static void Sample()
                {
                    GC.Collect(); GC.WaitForPendingFinalizers(); GC.Collect();
                    long heap = GC.GetTotalMemory(true), rss = 0;
                    foreach (var line in File.ReadLines("/proc/self/status"))
                        if (line.StartsWith("VmRSS:")) rss = long.Parse(line.Substring(6).Trim().Split(' ')[0]) * 1024;
                    Console.WriteLine("sample " + s_watch.ElapsedMilliseconds + " " + heap + " " + rss);
                }
            }
            '@
            [StreamSampler]::Start(30000)
            $count = (Receive-BpfEvent {{ring.Id}} -Type event -Duration {{seconds}} | Measure-Object).Count
            [StreamSampler]::Stop()
            "count $count $([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalMilliseconds)"
            """;
        var scriptPath = Path.Combine(Path.GetTempPath(), $"bpfps-events-stream-{Environment.ProcessId}.ps1");
        File.WriteAllText(scriptPath, script);
        var counts = collection.Maps["counts"];
        ResetCounts(counts);
        try
        {
            using var link = TracepointLinks.Attach(collection.Programs["getpid_ring"], "syscalls", "sys_enter_getpid");
            var psi = new ProcessStartInfo("dotnet", $"pwsh -NoProfile -File {scriptPath}") { WorkingDirectory = root, RedirectStandardOutput = true, RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            var lines = new List<string>();
            p.OutputDataReceived += (_, e) => { if (e.Data is { } line) lock (lines) { lines.Add(line); if (line.StartsWith("sample ", StringComparison.Ordinal)) Console.WriteLine("  " + line); } };
            p.BeginOutputReadLine();
            var errorTask = p.StandardError.ReadToEndAsync();
            // Wait for the stream to start (its first sample), then produce at a steady rate, stopping a few seconds before
            // the stream's -Duration ends so that every event sent is one the stream could receive (sent - received = lost).
            while (!p.HasExited && !lines.Any(l => l.StartsWith("sample ", StringComparison.Ordinal))) Thread.Sleep(50);
            Thread.Sleep(2000);   // Receive-BpfEvent opens the ring
            long calls = 0;
            var watch = Stopwatch.StartNew();
            double producing = Math.Max(1, seconds - 5);
            while (!p.HasExited && watch.Elapsed.TotalSeconds < producing)
            {
                long due = (long)(Math.Min(watch.Elapsed.TotalSeconds, producing) * rate);
                while (calls < due) { GetPid(); calls++; }
                Thread.Sleep(5);
            }
            double produced = watch.Elapsed.TotalSeconds;
            link.Dispose();   // from here on no event is sent (not even for the runtime's own getpid calls): all of them are in the ring
            p.WaitForExit();
            var (sent, refused) = ReadCounts(counts);
            var samples = lines.Where(l => l.StartsWith("sample ", StringComparison.Ordinal)).Select(l => l.Split(' '))
                .Select(f => (Seconds: long.Parse(f[1], CultureInfo.InvariantCulture) / 1000.0, Heap: long.Parse(f[2], CultureInfo.InvariantCulture), Rss: long.Parse(f[3], CultureInfo.InvariantCulture))).ToList();
            var end = lines.LastOrDefault(l => l.StartsWith("count ", StringComparison.Ordinal))?.Split(' ');
            if (end is null || samples.Count < 3) return $"(Stream not measured: pwsh failed: {errorTask.Result.Trim()})\n\n";
            long received = long.Parse(end[1], CultureInfo.InvariantCulture);
            double cpuSeconds = double.Parse(end[2], CultureInfo.InvariantCulture) / 1000;
            static string MiB(long bytes)
            {
                double mib = Math.Round(bytes / 1048576.0, 1);
                return (mib == 0 ? 0 : mib).ToString("F1", CultureInfo.InvariantCulture);   // no "-0.0"
            }
            var text = new StringBuilder();
            text.AppendLine($"### Memory over a {seconds} s stream through Receive-BpfEvent");
            text.AppendLine();
            text.AppendLine($"`Receive-BpfEvent <live_ring id> -Type event -Duration {seconds} | Measure-Object` in a fresh pwsh while getpid() events arrive at a steady {rate:N0}/s " +
                $"for {produced:F0} s ({calls:N0} getpid() calls, {calls / produced:N0}/s): **{received:N0} records received of {sent:N0} sent ({sent - received:N0} lost)**, {refused:N0} refused by the kernel; the pwsh process used " +
                $"{cpuSeconds:F0} s of CPU ({100 * cpuSeconds / samples[^1].Seconds:F0}% of one CPU over the stream, start-up included). The process samples itself every 30 s: managed heap after a full collection, and RSS " +
                "(the first sample is before the stream starts, the last after it ends).");
            text.AppendLine();
            text.AppendLine("| t (s) | managed heap (MiB) | RSS (MiB) |");
            text.AppendLine("|---:|---:|---:|");
            for (int i = 0; i < samples.Count; i++)
            {
                var (t, heap, rss) = samples[i];
                string when = i == 0 ? "0 (before)" : i == samples.Count - 1 ? $"{t:F0} (after)" : $"{t:F0}";
                text.AppendLine($"| {when} | {MiB(heap)} | {MiB(rss)} |");
            }
            text.AppendLine();
            var streaming = samples.Skip(1).SkipLast(1).ToList();   // the samples taken while records flowed
            if (streaming.Count >= 2)
                text.AppendLine($"While streaming (from the {streaming[0].Seconds:F0} s sample to the {streaming[^1].Seconds:F0} s one): managed heap {MiB(streaming[^1].Heap - streaming[0].Heap)} MiB, " +
                    $"RSS {MiB(streaming[^1].Rss - streaming[0].Rss)} MiB; largest managed heap {MiB(streaming.Max(x => x.Heap))} MiB, largest RSS {MiB(streaming.Max(x => x.Rss))} MiB.");
            text.AppendLine();
            return text.ToString();
        }
        finally
        {
            File.Delete(scriptPath);
        }
    }

    private static void ResetCounts(LoadedMap counts)
    {
        var zero = new byte[counts.ValueBufferSize];
        for (uint key = 0; key < 2; key++) counts.Update(BitConverter.GetBytes(key), zero);
    }

    private static (long Sent, long Refused) ReadCounts(LoadedMap counts)
    {
        long Sum(uint key)
        {
            var value = counts.Lookup(BitConverter.GetBytes(key))!;
            long total = 0;
            for (int i = 0; i < value.Length; i += 8) total += BitConverter.ToInt64(value, i);
            return total;
        }
        return (Sum(0), Sum(1));
    }

    private static string LoadAverage()
    {
        try { return File.ReadAllText("/proc/loadavg").Split(' ')[0]; }
        catch (IOException) { return "?"; }
    }

    /// <summary>CLOCK_THREAD_CPUTIME_ID: exact, where getrusage samples by tick and reads 0 for a 4 ms drain.</summary>
    private static unsafe double ThreadCpuMs()
    {
        long* ts = stackalloc long[2];
        ClockGetTime(3, ts);
        return ts[0] * 1e3 + ts[1] / 1e6;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static unsafe partial int ClockGetTime(int clock, long* ts);

    // getpid(2) directly: glibc no longer caches it, but going through syscall() makes that certain.
    private static void GetPid() => Syscall0(39);

    [LibraryImport("libc", EntryPoint = "syscall")]
    private static partial long Syscall0(long number);
}
