using System.Runtime.InteropServices;

namespace BpfPS.Core.Inventory;

/// <summary>
/// Converts the kernel's "nanoseconds since boot" stamps (bpf_prog_info.load_time is ktime_get_boottime_ns) to wall-clock
/// time, as bpftool does: now, minus the time since boot on the same clock, plus the stamp.
/// </summary>
public static partial class BootClock
{
    /// <summary>CLOCK_BOOTTIME (uapi linux/time.h): like CLOCK_MONOTONIC but counting suspend, as load_time does.</summary>
    private const int ClockBoottime = 7;

    /// <summary>Time since boot on CLOCK_BOOTTIME.</summary>
    public static TimeSpan SinceBoot()
    {
        if (ClockGetTime(ClockBoottime, out var now) != 0)
            throw new InvalidOperationException($"clock_gettime(CLOCK_BOOTTIME) failed: errno {Marshal.GetLastPInvokeError()}");
        return TimeSpan.FromTicks(now.Seconds * TimeSpan.TicksPerSecond + now.Nanoseconds / 100);
    }

    /// <summary>The UTC time at which the machine booted (to the precision of two clock reads).</summary>
    public static DateTime BootTimeUtc() => DateTime.UtcNow - SinceBoot();

    /// <summary>The local wall-clock time of a boot-relative nanosecond stamp.</summary>
    public static DateTime ToLocalTime(ulong nanosecondsSinceBoot, DateTime bootTimeUtc) =>
        (bootTimeUtc + TimeSpan.FromTicks((long)(nanosecondsSinceBoot / 100))).ToLocalTime();

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, out TimeSpec time);
}
