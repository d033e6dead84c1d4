using System.Runtime.InteropServices;

namespace BpfPS.Benchmarks;

/// <summary>
/// The calling thread's CPU time from getrusage(RUSAGE_THREAD): user and kernel time separately, and unlike wall time
/// not inflated when other processes compete for the two cores.
/// </summary>
internal static unsafe class ThreadCpu
{
    private const int RusageThread = 1;

    /// <summary>User plus system time: exact (the kernel counts it in nanoseconds), unlike the split between them.</summary>
    public static double TotalMs()
    {
        var (user, system) = Now();
        return user + system;
    }

    /// <summary>User and system time. Linux splits the exact total by where timer ticks landed, so the split is only fair as a mean over many runs.</summary>
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
