using System.Runtime.InteropServices;

namespace BpfPS.Core.Events;

/// <summary>The kernel clock a timestamp in an event was taken on.</summary>
public enum KernelClockKind
{
    /// <summary>CLOCK_MONOTONIC: bpf_ktime_get_ns (stops during suspend).</summary>
    Monotonic,
    /// <summary>CLOCK_BOOTTIME: bpf_ktime_get_boot_ns (counts suspend; what bpf_prog_info.load_time uses).</summary>
    Boot,
}

/// <summary>
/// Turns kernel nanosecond stamps into wall-clock times: the wall clock now, minus the kernel clock now, plus the
/// stamp. The offset is taken once per instance, so a stream of events converts without a clock read per event.
/// </summary>
public sealed partial class KernelClock
{
    private const int ClockMonotonic = 1, ClockBoottime = 7;
    private readonly long _originTicksUtc;

    public KernelClock(KernelClockKind kind)
    {
        Kind = kind;
        long now = Now(kind);
        _originTicksUtc = DateTime.UtcNow.Ticks - now / 100;
    }

    public KernelClockKind Kind { get; }

    /// <summary>The UTC time of a stamp on this clock.</summary>
    public DateTime ToUtc(ulong nanoseconds) => new(_originTicksUtc + (long)(nanoseconds / 100), DateTimeKind.Utc);

    /// <summary>The local time of a stamp on this clock.</summary>
    public DateTime ToLocal(ulong nanoseconds) => ToUtc(nanoseconds).ToLocalTime();

    /// <summary>Nanoseconds on the clock now.</summary>
    public static long Now(KernelClockKind kind)
    {
        int clock = kind == KernelClockKind.Boot ? ClockBoottime : ClockMonotonic;
        if (ClockGetTime(clock, out var t) != 0)
            throw new InvalidOperationException($"clock_gettime({kind}) failed: errno {Marshal.GetLastPInvokeError()}");
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
