using System.Diagnostics;

namespace BpfPS.Core.Kernel;

/// <summary>
/// How many bpf() calls this thread made and how long it spent inside them, per command. Per-thread so that
/// parallel loads don't blur each other's figures; a load that verifies its programs on several threads counts their
/// calls on the thread that asked for the load (<see cref="CountOn"/>), so its figures read as a one-by-one load's.
/// </summary>
public sealed class SyscallStats
{
    private const int CommandSlots = 64;

    [ThreadStatic] private static SyscallStats? t_current;

    private readonly long[] _calls = new long[CommandSlots];
    private readonly long[] _ticks = new long[CommandSlots];

    /// <summary>The calling thread's counters.</summary>
    public static SyscallStats Current => t_current ??= new SyscallStats();

    /// <summary>Zeroes every counter of this thread.</summary>
    public void Reset()
    {
        Array.Clear(_calls);
        Array.Clear(_ticks);
    }

    public long CallCount(BpfCommand command) => Slot(command) is int i ? _calls[i] : 0;

    public TimeSpan Elapsed(BpfCommand command) => Slot(command) is int i ? Stopwatch.GetElapsedTime(0, _ticks[i]) : TimeSpan.Zero;

    public long TotalCalls
    {
        get { long sum = 0; foreach (var c in _calls) sum += c; return sum; }
    }

    public TimeSpan TotalElapsed
    {
        get { long sum = 0; foreach (var t in _ticks) sum += t; return Stopwatch.GetElapsedTime(0, sum); }
    }

    /// <summary>Commands with at least one call, with their counts and time.</summary>
    public IReadOnlyList<(BpfCommand Command, long Calls, TimeSpan Elapsed)> Snapshot()
    {
        var list = new List<(BpfCommand, long, TimeSpan)>();
        for (int i = 0; i < CommandSlots; i++)
            if (_calls[i] != 0) list.Add(((BpfCommand)i, _calls[i], Stopwatch.GetElapsedTime(0, _ticks[i])));
        return list;
    }

    internal void Record(BpfCommand command, long startTimestamp, long endTimestamp)
    {
        if (Slot(command) is not int i) return;
        Interlocked.Increment(ref _calls[i]);   // several threads may count on one instance (CountOn)
        Interlocked.Add(ref _ticks[i], endTimestamp - startTimestamp);
    }

    /// <summary>Until disposed, this thread's calls are counted on <paramref name="stats"/> (another thread's).</summary>
    internal static Redirection CountOn(SyscallStats stats)
    {
        var previous = t_current;
        t_current = stats;
        return new Redirection(previous);
    }

    internal readonly struct Redirection(SyscallStats? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }

    private static int? Slot(BpfCommand command) => (uint)command < CommandSlots ? (int)command : null;
}
