using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Features;
using BpfPS.Core.Kernel;
using BpfPS.Features;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfFeature: what the running kernel can do (program, map, attach and link types, helpers per program type,
/// kfuncs, BTF kinds, verifier limits, tokens, JIT and unprivileged settings, mounts), each answer probed by loading a
/// minimal program, map or BTF blob and remembered for the runspace.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfFeature")]
[OutputType(typeof(BpfFeature))]
public sealed class GetBpfFeatureCommand : PSCmdlet
{
    /// <summary>Feature names (wildcards allowed): "xdp", "ringbuf", "bpf_redirect*".</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only these categories.</summary>
    [Parameter]
    public FeatureCategory[]? Category { get; set; }

    /// <summary>
    /// For helpers and attach types: only these program types (wildcards allowed), e.g. xdp, cgroup_*. Without
    /// -Category, selects those two categories.
    /// </summary>
    [Parameter]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? ProgramType { get; set; }

    /// <summary>Only features the kernel supports (or settings that are on).</summary>
    [Parameter]
    public SwitchParameter Supported { get; set; }

    protected override void EndProcessing()
    {
        var names = Patterns(Name);
        var programTypes = Patterns(ProgramType);
        var unmatched = Name?.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)).ToHashSet(StringComparer.OrdinalIgnoreCase) ?? [];
        if (!BpfSyscall.IsAvailable)
            WriteWarning($"Probes load programs and maps, and bpf() is not usable here ({BpfSyscall.UnavailableReason}): every probed feature will read as unsupported.");
        try
        {
            var set = RunspaceFeatureCache.Get(Runspace.DefaultRunspace);
            // Program types narrow helpers and attach types; asked alone, they mean those two categories.
            var categories = Category ?? (ProgramType is null ? null : [FeatureCategory.Helper, FeatureCategory.AttachType]);
            foreach (var feature in set.Query(categories, names is null ? null : n => names.Any(p => p.IsMatch(n)),
                         programTypes is null ? null : t => programTypes.Any(p => p.IsMatch(t))))
            {
                unmatched.Remove(feature.Name);
                if (Supported && !feature.Supported) continue;
                WriteObject(feature);
            }
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, "kernel features"));
            return;
        }
        foreach (var missing in unmatched)
            WriteError(new ErrorRecord(new ItemNotFoundException($"No BPF feature named '{missing}'{(Category is { Length: > 0 } ? $" in category {string.Join(", ", Category)}" : "")}."),
                "BpfFeatureNotFound", ErrorCategory.ObjectNotFound, missing));
    }

    private static WildcardPattern[]? Patterns(string[]? values) =>
        values?.Select(v => WildcardPattern.Get(v, WildcardOptions.IgnoreCase)).ToArray();
}
