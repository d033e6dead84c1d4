using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Security.Cryptography;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>How long to fuzz, and what counts as a finding.</summary>
public sealed class FuzzOptions
{
    /// <summary>Base seed: input i of a target is a pure function of (seed, target name, i), so any finding replays.</summary>
    public ulong Seed { get; init; } = 0x42504650; // "BPFP"
    /// <summary>Stop after this many inputs (null: no count limit).</summary>
    public long? Iterations { get; init; }
    /// <summary>Stop after this long (null: no time limit). One of the two limits must be set.</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>An input running longer than this is a hang. Generous: two shared cores, and a run may share them with a build.</summary>
    public TimeSpan InputTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Bytes one input may allocate on the fuzzing thread: this plus <see cref="AllocationPerInputByte"/> per input byte.</summary>
    public long AllocationCap { get; init; } = 64L << 20;
    public long AllocationPerInputByte { get; init; } = 256;
    /// <summary>Process-wide allocation during one input above this is a finding too (work done on helper threads).</summary>
    public long ProcessAllocationCap { get; init; } = 1L << 30;
    /// <summary>Where findings are saved (null: not saved).</summary>
    public string? FindingsDirectory { get; init; }
    /// <summary>Stop after this many distinct findings.</summary>
    public int MaxFindings { get; init; } = 10;
    /// <summary>
    /// A file the current input is mirrored into before it runs (through a shared mapping, so it costs a copy, not a
    /// write), so a crash that kills the process (stack overflow) still leaves the input behind. Null: off.
    /// </summary>
    public string? InFlightPath { get; init; }
}

/// <summary>A crash, hang or runaway allocation, with the input that caused it.</summary>
public sealed record FuzzFinding(string Target, long Iteration, string Kind, string Description, byte[] Input, string? SavedPath);

/// <summary>What a run did: inputs executed, how many the code rejected as malformed, and the findings.</summary>
public sealed record FuzzReport(string Target, int Seeds, long Executions, long Rejected, int DistinctRejections, TimeSpan Elapsed,
    long MaxAllocatedBytes, IReadOnlyList<FuzzFinding> Findings)
{
    public override string ToString() =>
        $"{Target}: {Executions} inputs from {Seeds} seeds in {Elapsed.TotalSeconds:F1} s ({Executions / Math.Max(0.001, Elapsed.TotalSeconds):F0}/s), " +
        $"{Rejected} rejected with {DistinctRejections} distinct format errors, max {MaxAllocatedBytes / 1024} KiB allocated by one input, " +
        $"{Findings.Count} findings";
}

/// <summary>
/// The in-process fuzz loop: mutates seeds deterministically, runs each input on a worker thread while the caller
/// watches the clock (a stuck input is reported as a hang with its bytes; the worker is abandoned), and checks each
/// input's allocations against a cap. Any exception the target does not document for bad input is a finding.
/// </summary>
public static class FuzzRunner
{
    public static FuzzReport Run(FuzzTarget target, IReadOnlyList<FuzzSeed> seeds, FuzzOptions options)
    {
        if (seeds.Count == 0) throw new ArgumentException($"no seeds for target {target.Name}", nameof(seeds));
        if (options.Iterations is null && options.Duration is null) throw new ArgumentException("set Iterations or Duration", nameof(options));
        var state = new LoopState(target, seeds, options);
        var clock = Stopwatch.StartNew();
        Watch(state, state.Loop, options.InputTimeout);
        return new FuzzReport(target.Name, seeds.Count, state.Executions, state.Rejected, state.Rejections.Count, clock.Elapsed,
            state.MaxAllocated, state.FindingsSnapshot());
    }

    /// <summary>
    /// Runs <paramref name="work"/> on a worker thread while this thread watches the clock: a stuck input is recorded as
    /// a hang with its bytes, and the worker (a background thread, stuck inside the target) is abandoned.
    /// </summary>
    private static void Watch(LoopState state, Action work, TimeSpan timeout)
    {
        var worker = new Thread(() => state.Guard(work)) { IsBackground = true, Name = "fuzz " + state.TargetName };
        worker.Start();
        while (!worker.Join(50))
        {
            long started = Volatile.Read(ref state.InputStartedAt);
            if (started != 0 && Stopwatch.GetElapsedTime(started) > timeout)
            {
                state.Stop = true;
                Interlocked.Increment(ref s_abandonedWorkers);
                var input = Volatile.Read(ref state.CurrentInput) ?? [];
                state.Record("hang", Volatile.Read(ref state.CurrentIteration), $"input ran longer than {timeout.TotalSeconds} s", input, null);
                break;
            }
        }
        state.LoopFailure?.Throw();
    }

    /// <summary>Runs one saved input the way the loop does; returns the finding it causes, or null.</summary>
    public static FuzzFinding? Replay(FuzzTarget target, byte[] input, FuzzOptions? options = null)
    {
        options ??= new FuzzOptions { Iterations = 1 };
        var state = new LoopState(target, [], options);
        Watch(state, () => state.Execute(input, 0), options.InputTimeout);
        return state.FindingsSnapshot().FirstOrDefault();
    }

    /// <summary>Workers left stuck in a hung input: they may still allocate, so process-wide counts mean little after one.</summary>
    private static int s_abandonedWorkers;

    /// <summary>Stable across processes (string.GetHashCode is not).</summary>
    internal static ulong Fnv1a(string text)
    {
        ulong h = 14695981039346656037;
        foreach (char c in text) h = (h ^ c) * 1099511628211;
        return h;
    }

    private sealed class LoopState(FuzzTarget target, IReadOnlyList<FuzzSeed> seeds, FuzzOptions options)
    {
        public long InputStartedAt;
        public byte[]? CurrentInput;
        public long CurrentIteration;
        public volatile bool Stop;
        public long Executions, Rejected, MaxAllocated;
        public readonly HashSet<string> Rejections = new();
        public System.Runtime.ExceptionServices.ExceptionDispatchInfo? LoopFailure;
        private readonly List<FuzzFinding> _findings = new();
        private readonly HashSet<string> _findingKeys = new();
        private MemoryMappedViewAccessor? _inFlight;

        public string TargetName => target.Name;

        /// <summary>Runs the loop or a replay, keeping a failure of the harness itself for the watching thread.</summary>
        public void Guard(Action work)
        {
            try { work(); }
            catch (Exception e) { LoopFailure = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }

        public void Loop()
        {
            using var mapping = OpenInFlight();
            var deadline = options.Duration is { } d ? Stopwatch.GetTimestamp() + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            ulong stream = options.Seed ^ Fnv1a(target.Name);
            for (long i = 0; !Stop; i++)
            {
                if (options.Iterations is { } n && i >= n) break;
                if (Stopwatch.GetTimestamp() > deadline) break;
                lock (_findings)
                    if (_findings.Count >= options.MaxFindings) break;
                Execute(InputFor(stream, i), i);
            }
        }

        private byte[] InputFor(ulong stream, long iteration)
        {
            var rng = new Random((int)(SplitMix(stream + (ulong)iteration * 0x9E3779B97F4A7C15UL) & 0x7fffffff));
            var seed = seeds[rng.Next(seeds.Count)];
            var other = seeds[rng.Next(seeds.Count)];
            var blobs = (byte[][])seed.Blobs.Clone();
            int which = rng.Next(blobs.Length);
            blobs[which] = StructuredMutator.Mutate(seed.Blobs[which], seed.Layouts[which], rng, other.Blobs[which]);
            return FuzzInput.Encode(blobs);
        }

        public void Execute(byte[] input, long iteration)
        {
            Volatile.Write(ref CurrentInput, input);
            Volatile.Write(ref CurrentIteration, iteration);
            MirrorInFlight(input);
            long threadBefore = GC.GetAllocatedBytesForCurrentThread(), processBefore = GC.GetTotalAllocatedBytes(false);
            Volatile.Write(ref InputStartedAt, Stopwatch.GetTimestamp());
            Exception? failure = null;
            try
            {
                target.RunEncoded(input);
            }
            catch (Exception e)
            {
                failure = e;
            }
            Volatile.Write(ref InputStartedAt, 0);
            long thread = GC.GetAllocatedBytesForCurrentThread() - threadBefore, process = GC.GetTotalAllocatedBytes(false) - processBefore;
            Executions++;
            MaxAllocated = Math.Max(MaxAllocated, thread);

            long cap = options.AllocationCap + options.AllocationPerInputByte * input.Length;
            // Work on helper threads (the C header writer runs on its own) shows only in the process count, which an
            // abandoned hung worker would blur: it is judged only while no worker is abandoned.
            if (thread > cap || (process > options.ProcessAllocationCap && Volatile.Read(ref s_abandonedWorkers) == 0))
                Record("allocation", iteration, $"one input allocated {thread:N0} bytes on the fuzzing thread and {process:N0} in the process (caps {cap:N0} / {options.ProcessAllocationCap:N0})", input, null);
            if (failure is null) return;
            if (target.IsExpected(failure))
            {
                Rejected++;
                if (Rejections.Count < 100_000) Rejections.Add(Normalise(failure));
                return;
            }
            Record("exception", iteration, failure.ToString(), input, failure);
        }

        public void Record(string kind, long iteration, string description, byte[] input, Exception? e)
        {
            // One finding per kind of failure and place (exception type and the innermost frame of our code).
            string key = kind + "|" + e?.GetType().FullName + "|" + InnermostFrame(e);
            lock (_findings)
            {
                if (!_findingKeys.Add(key)) return;
                _findings.Add(new FuzzFinding(target.Name, iteration, kind, description, input, Save(kind, input, description)));
            }
        }

        public List<FuzzFinding> FindingsSnapshot()
        {
            lock (_findings) return _findings.ToList();
        }

        private string? Save(string kind, byte[] input, string description)
        {
            if (options.FindingsDirectory is null) return null;
            Directory.CreateDirectory(options.FindingsDirectory);
            string name = $"{target.Name}-{kind}-{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}";
            string path = Path.Combine(options.FindingsDirectory, name + ".bin");
            File.WriteAllBytes(path, input);
            File.WriteAllText(Path.Combine(options.FindingsDirectory, name + ".txt"), description + "\n");
            return path;
        }

        private static string InnermostFrame(Exception? e)
        {
            if (e?.StackTrace is not { } trace) return "";
            foreach (var line in trace.Split('\n'))
                if (line.Contains("BpfPS.Core.") && !line.Contains(".Tests.")) return line.Trim();
            return trace.Split('\n')[0].Trim();
        }

        /// <summary>The kind of format error, without the numbers: a rough measure of how many checks the run reached.</summary>
        private static string Normalise(Exception e)
        {
            string reason = e is BpfFormatException f ? f.Reason : e.Message;
            var words = reason.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Where(w => w.All(c => char.IsAsciiLetter(c) || c is ':' or ',' or '-' or '_')).Take(6);
            return e.GetType().Name + ": " + string.Join(' ', words);
        }

        private IDisposable? OpenInFlight()
        {
            if (options.InFlightPath is null) return null;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(options.InFlightPath))!);
            var file = MemoryMappedFile.CreateFromFile(options.InFlightPath, FileMode.Create, null, InFlightCapacity);
            _inFlight = file.CreateViewAccessor();
            return new Disposer(() => { _inFlight.Dispose(); _inFlight = null; file.Dispose(); });
        }

        private const int InFlightCapacity = 16 << 20;

        private void MirrorInFlight(byte[] input)
        {
            if (_inFlight is null) return;
            int length = Math.Min(input.Length, InFlightCapacity - 4);
            _inFlight.Write(0, length);
            _inFlight.WriteArray(4, input, 0, length);
        }

        private static ulong SplitMix(ulong x)
        {
            x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
            x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
            return x ^ (x >> 31);
        }
    }

    private sealed class Disposer(Action action) : IDisposable
    {
        public void Dispose() => action();
    }
}
