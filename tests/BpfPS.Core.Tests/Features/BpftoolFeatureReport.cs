using System.Text.Json;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Features;

/// <summary>`bpftool feature probe kernel -j` on this machine, run once for all comparisons.</summary>
internal static class BpftoolFeatureReport
{
    private static readonly Lazy<(JsonDocument? Report, string? Why)> s_report = new(() =>
    {
        if (!KernelTestSupport.HasTool("bpftool")) return (null, "bpftool is not installed (build.ps1 prerequisites installs it)");
        var (code, output) = KernelTestSupport.Run("bpftool", "feature probe kernel -j");
        if (code != 0) return (null, $"bpftool feature probe failed ({code}): {output}");
        int start = output.IndexOf('{');
        return start < 0 ? (null, "bpftool printed no JSON: " + output) : (JsonDocument.Parse(output[start..]), null);
    });

    /// <summary>The report's root, or skips the test with the reason it is missing.</summary>
    public static JsonElement Require()
    {
        KernelTestSupport.RequireBpf();
        var (report, why) = s_report.Value;
        Skip.If(report is null, why ?? "");
        return report!.RootElement;
    }

    /// <summary>"have_xdp_prog_type": true entries of a section as name to verdict ("xdp" -> true).</summary>
    public static Dictionary<string, bool> Verdicts(JsonElement root, string section, string suffix)
    {
        var result = new Dictionary<string, bool>();
        foreach (var p in root.GetProperty(section).EnumerateObject())
            if (p.Name.StartsWith("have_", StringComparison.Ordinal) && p.Name.EndsWith(suffix, StringComparison.Ordinal))
                result[p.Name["have_".Length..^suffix.Length]] = p.Value.GetBoolean();
        return result;
    }
}
