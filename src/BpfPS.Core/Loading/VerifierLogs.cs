using System.Collections.Immutable;
using System.Globalization;
using BpfPS.Core.CoRe;

namespace BpfPS.Core.Loading;

/// <summary>Reading verifier logs for error messages: their tail, and which CO-RE relocation poisoned the failing instruction.</summary>
public static class VerifierLogs
{
    /// <summary>The call immediate libbpf (and the CO-RE engine) writes into a poisoned instruction: 0xbad2310.</summary>
    public const int CorePoisonImmediate = 0xbad2310;

    /// <summary>The last <paramref name="lines"/> non-empty lines of <paramref name="log"/>.</summary>
    public static string Tail(string log, int lines = 12)
    {
        var all = log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>
    /// Like libbpf's fixup_verifier_log: when the verifier stopped at a poisoned instruction ("N: (85) call unknown#195896080"),
    /// says which CO-RE relocation poisoned it and why. Null when the failure has nothing to do with CO-RE.
    /// </summary>
    public static string? ExplainPoisonedInstruction(string? log, ImmutableArray<CoreRelocationResult> relocations)
    {
        if (string.IsNullOrEmpty(log) || relocations.IsDefaultOrEmpty) return null;
        string marker = "call unknown#" + CorePoisonImmediate.ToString(CultureInfo.InvariantCulture);
        var explanations = new List<string>();
        foreach (var line in log.Split('\n'))
        {
            int at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0) continue;
            int colon = line.IndexOf(':');
            if (colon <= 0 || !int.TryParse(line.AsSpan(0, colon).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int index)) continue;
            foreach (var r in relocations)
                if (r.Poisoned && r.Relocation.InstructionOffset == index)
                    explanations.Add($"instruction {index} was poisoned by CO-RE relocation {r.Relocation.Kind} (type [{r.Relocation.TypeId}], access {r.Relocation.AccessString}): {r.Description}");
        }
        if (explanations.Count == 0 && log.Contains(marker, StringComparison.Ordinal))
            foreach (var r in relocations)
                if (r.Poisoned) explanations.Add($"instruction {r.Relocation.InstructionOffset} was poisoned by CO-RE relocation {r.Relocation.Kind}: {r.Description}");
        return explanations.Count == 0 ? null : string.Join('\n', explanations.Distinct());
    }
}
