using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// Every input that once crashed, hung or over-allocated (Hardening/regressions/TARGET-KIND-HASH.bin, with the original
/// failure in the .txt beside it) is run again and must now be rejected cleanly or accepted.
/// </summary>
[Collection(FuzzCollection.Name)]
public class RegressionReplayTests
{
    public static TheoryData<string> SavedInputs()
    {
        var data = new TheoryData<string>();
        if (Directory.Exists(FuzzCorpus.RegressionsDirectory))
            foreach (var path in Directory.GetFiles(FuzzCorpus.RegressionsDirectory, "*.bin").Order(StringComparer.Ordinal))
                data.Add(Path.GetFileName(path));
        if (data.Count == 0) data.Add("");
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(SavedInputs))]
    public void SavedInputIsHandled(string file)
    {
        Skip.If(file.Length == 0, "no saved regression inputs");
        var target = FuzzTargets.ByName(file[..file.IndexOf('-')]);
        byte[] input = File.ReadAllBytes(Path.Combine(FuzzCorpus.RegressionsDirectory, file));

        var finding = FuzzRunner.Replay(target, input);

        Assert.True(finding is null, finding?.Description);
    }
}
