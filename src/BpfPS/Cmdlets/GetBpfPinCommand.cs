using System.Management.Automation;
using BpfPS.Core.Inventory;

namespace BpfPS.Cmdlets;

/// <summary>Get-BpfPin: the objects pinned on bpffs (every mounted bpffs, or under the given paths), with kind, id and name.</summary>
[Cmdlet(VerbsCommon.Get, "BpfPin")]
[OutputType(typeof(PinEntry))]
public sealed class GetBpfPinCommand : PSCmdlet
{
    /// <summary>Directories (searched recursively) or pins to list; wildcards allowed. Default: every mounted bpffs.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Only pins of these kinds (Program, Map, Link).</summary>
    [Parameter]
    public BpfObjectKind[]? Kind { get; set; }

    protected override void ProcessRecord()
    {
        IEnumerable<string>? roots = null;
        if (Path is not null)
        {
            roots = Path.SelectMany(ResolveExisting).Distinct(StringComparer.Ordinal).ToList();
            foreach (var root in roots.Where(r => !BpfPins.IsOnBpfFs(r)))
                WriteWarning($"{root} is not on a bpf filesystem: it holds no pins.");
            if (!roots.Any()) return;
        }
        try
        {
            var pins = PinIndex.Build(roots).Pins.Where(p => Kind is null || Kind.Contains(p.Kind));
            WriteObject(pins, enumerateCollection: true);
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            ThrowTerminatingError(KernelObjectErrors.From(e, Path));
        }
    }

    /// <summary>Existing files or directories a path names (wildcards expanded); an ObjectNotFound error when none.</summary>
    private IEnumerable<string> ResolveExisting(string path)
    {
        try
        {
            if (!WildcardPattern.ContainsWildcardCharacters(path))
            {
                var full = PathResolver.ResolveOutput(this, path);
                if (File.Exists(full) || Directory.Exists(full)) return [full];
            }
            else
            {
                var matches = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out var provider);
                if (provider.Name == "FileSystem" && matches.Count > 0) return matches;
            }
        }
        catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException)
        {
            // Reported below, naming the path as the user typed it.
        }
        WriteError(ErrorRecords.PathNotFound(path));
        return [];
    }
}
