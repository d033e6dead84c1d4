using BpfPS.Core.Tests.Hardening.Fuzzing;
using Xunit.Abstractions;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>Allocation is counted per process as well as per thread: keep the fuzz runs away from other busy tests.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FuzzCollection
{
    public const string Name = "fuzzing";
}

/// <summary>
/// The bounded in-suite fuzz run: a fixed number of structure-aware mutations of the fixture objects per target (about
/// ten seconds each here), deterministic so a failure reproduces from its iteration. Only the documented exception
/// types may escape, no input may run past the timeout, and none may allocate past the cap. Findings are saved under
/// Hardening/regressions, where <see cref="RegressionReplayTests"/> replays them for ever.
/// </summary>
[Collection(FuzzCollection.Name)]
public class ReaderFuzzTests(ITestOutputHelper output)
{
    /// <summary>Inputs per target: sized so the five targets take about a minute on this project's 2-core machines.</summary>
    public static TheoryData<string, int> Budgets() => new()
    {
        { "elf", 300_000 },
        { "btf", 50_000 },
        { "btfext", 300_000 },
        { "object", 150_000 },
        { "core", 120_000 },
    };

    [SkippableTheory]
    [MemberData(nameof(Budgets))]
    public void OnlyDocumentedExceptionsEscape(string targetName, int iterations)
    {
        var target = FuzzTargets.ByName(targetName);
        var seeds = FuzzSeeds.For(target, FuzzCorpus.Objects);
        Skip.If(seeds.Count == 0, $"no fixture object gives a seed for {targetName}");
        int scale = int.TryParse(Environment.GetEnvironmentVariable("BPFPS_FUZZ_SCALE"), out var s) && s > 0 ? s : 1;

        var report = FuzzRunner.Run(target, seeds, new FuzzOptions
        {
            Iterations = (long)iterations * scale,
            Duration = TimeSpan.FromSeconds(60 * scale), // a safety net on a slow machine; the count is what is meant
            FindingsDirectory = FuzzCorpus.RegressionsDirectory,
        });
        output.WriteLine(report.ToString());

        Assert.True(report.Findings.Count == 0, string.Join("\n\n", report.Findings.Select(f =>
            $"{f.Kind} at iteration {f.Iteration}, saved as {f.SavedPath}:\n{f.Description}")));
        // The run must reach past the first checks: some inputs still parse, and the rejections are of many kinds.
        Assert.True(report.Executions > report.Rejected, $"every input was rejected: {report}");
        Assert.True(report.DistinctRejections >= 10, $"only {report.DistinctRejections} kinds of format error were reached: {report}");
    }
}
