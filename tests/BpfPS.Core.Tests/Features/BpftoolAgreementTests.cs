using System.Text.Json;
using BpfPS.Core.Features;

namespace BpfPS.Core.Tests.Features;

/// <summary>
/// The probes against `bpftool feature probe kernel -j` on this machine, for everything bpftool 7.1 knows: the two are
/// independent implementations asking the same kernel.
/// </summary>
public class BpftoolAgreementTests
{
    private static readonly KernelFeatureSet Features = new();

    [SkippableFact]
    public void ProgramTypesAgreeWithBpftool()
    {
        var bpftool = BpftoolFeatureReport.Verdicts(BpftoolFeatureReport.Require(), "program_types", "_prog_type");
        Assert.NotEmpty(bpftool);
        var mine = Features.Query([FeatureCategory.ProgramType]).ToDictionary(f => f.Name);
        foreach (var (name, supported) in bpftool)
        {
            Assert.True(mine.ContainsKey(name), $"program type {name} (known to bpftool) is not named by the kernel's BTF");
            Assert.True(supported == mine[name].Supported, $"program type {name}: bpftool says {supported}, the probe {mine[name].Supported} ({mine[name].Detail})");
        }
    }

    [SkippableFact]
    public void MapTypesAgreeWithBpftool()
    {
        var bpftool = BpftoolFeatureReport.Verdicts(BpftoolFeatureReport.Require(), "map_types", "_map_type");
        Assert.NotEmpty(bpftool);
        var mine = Features.Query([FeatureCategory.MapType]).ToDictionary(f => f.Name);
        foreach (var (name, supported) in bpftool)
        {
            Assert.True(mine.ContainsKey(name), $"map type {name} (known to bpftool) is not named by the kernel's BTF");
            Assert.True(supported == mine[name].Supported, $"map type {name}: bpftool says {supported}, the probe {mine[name].Supported} ({mine[name].Detail})");
        }
    }

    /// <summary>
    /// bpftool lists a helper unless the verifier log says "invalid func" or "unknown func"; since 6.6 the kernel words a
    /// forbidden helper "program of this type cannot use helper" (and a few helpers refuse with "not supported for program
    /// type"), which bpftool 7.1 reads as available. So: every helper
    /// the probe finds available, bpftool lists too; every one bpftool leaves out, the probe leaves out; and where
    /// bpftool lists one the probe does not, the probe's evidence is the verifier's own refusal of that very helper.
    /// </summary>
    [SkippableFact]
    public void HelpersAgreeWithBpftoolWhereItCanReadTheVerifier()
    {
        var root = BpftoolFeatureReport.Require();
        var lists = new Dictionary<string, HashSet<string>>();
        foreach (var p in root.GetProperty("helpers").EnumerateObject())
            lists[p.Name[..^"_available_helpers".Length]] = p.Value.EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        var knownToBpftool = lists.Values.SelectMany(l => l).ToHashSet();
        Assert.NotEmpty(knownToBpftool);

        int compared = 0, explained = 0;
        foreach (var type in Features.Query([FeatureCategory.ProgramType]).Where(t => t.Supported && lists.ContainsKey(t.Name)))
        {
            var bpftool = lists[type.Name];
            if (bpftool.Count == 0) continue;   // bpftool could not probe this type's helpers (e.g. struct_ops needs a target)
            foreach (var helper in Features.Query([FeatureCategory.Helper], n => knownToBpftool.Contains(n), t => t == type.Name))
            {
                compared++;
                if (helper.Supported)
                    Assert.True(bpftool.Contains(helper.Name), $"{type.Name}/{helper.Name}: available to the probe ({helper.Detail}) but not to bpftool");
                else if (bpftool.Contains(helper.Name))
                {
                    explained++;
                    Assert.Contains($"{helper.Name}#{helper.Id}", helper.Detail);
                    Assert.True(helper.Detail.Contains("cannot use helper", StringComparison.Ordinal) || helper.Detail.Contains("unknown func", StringComparison.Ordinal)
                        || helper.Detail.Contains("not supported for program type", StringComparison.Ordinal),
                        $"{type.Name}/{helper.Name}: bpftool lists it, and the probe's refusal is not the verifier's: {helper.Detail}");
                }
            }
        }
        Assert.True(compared > 1000, $"only {compared} helper verdicts compared");
        Assert.True(explained < compared, "every helper refused: the probe is not reading the verifier");
    }

    [SkippableFact]
    public void VerifierCapabilitiesAgreeWithBpftool()
    {
        var misc = BpftoolFeatureReport.Verdicts(BpftoolFeatureReport.Require(), "misc", "");
        var mine = Features.Query([FeatureCategory.Misc]).ToDictionary(f => f.Name);
        foreach (var name in new[] { "large_insn_limit", "bounded_loops", "v2_isa_extension", "v3_isa_extension" })
        {
            Assert.True(misc.ContainsKey(name), $"bpftool reports no {name}");
            Assert.True(misc[name] == mine[name].Supported, $"{name}: bpftool {misc[name]}, probe {mine[name].Supported} ({mine[name].Detail})");
        }
    }

    [SkippableFact]
    public void SystemSettingsAgreeWithBpftool()
    {
        var config = BpftoolFeatureReport.Require().GetProperty("system_config");
        foreach (var setting in Features.Query([FeatureCategory.SystemConfig]))
        {
            if (!config.TryGetProperty(setting.Name, out var value) || value.ValueKind != JsonValueKind.Number) continue;
            Assert.Equal(value.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture), setting.Value);
            Assert.Equal(value.GetInt64() != 0, setting.Supported);
        }
    }
}
