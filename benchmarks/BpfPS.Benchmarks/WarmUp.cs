using System.Runtime;

namespace BpfPS.Benchmarks;

/// <summary>
/// Repeats a job until the JIT has nothing left to compile for it. Three warm-up runs are not enough: methods start
/// unoptimised (tier 0, then instrumented for PGO) and are recompiled in the background only after 30 calls and a quiet
/// 100 ms, so a short warm-up measures half-compiled code (seen here: unoptimised generic code boxing ints, ~1.7k extra
/// allocations per load). Warm here means what a long-lived runspace runs: the final, optimised code.
/// </summary>
internal static class WarmUp
{
    /// <returns>How many times <paramref name="job"/> ran.</returns>
    public static int UntilJitSettles(Action job, int maxRuns = 200)
    {
        int quiet = 0, runs = 0;
        while (runs < maxRuns && quiet < 3)
        {
            long compiled = JitInfo.GetCompiledMethodCount();
            job();
            runs++;
            // Give the background tiering thread its delay, then see whether anything was (re)compiled meanwhile.
            Thread.Sleep(150);
            quiet = JitInfo.GetCompiledMethodCount() == compiled ? quiet + 1 : 0;
        }
        return runs;
    }
}
