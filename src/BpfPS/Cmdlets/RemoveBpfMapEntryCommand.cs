using System.Management.Automation;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>Remove-BpfMapEntry: deletes keys from a loaded map (hash-like maps; array entries cannot be deleted).</summary>
[Cmdlet(VerbsCommon.Remove, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet, SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveBpfMapEntryCommand : PSCmdlet
{
    /// <summary>The map to delete from.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSelection.MapSet, ValueFromPipeline = true)]
    public LoadedMap? Map { get; set; }

    /// <summary>A loaded collection holding the map named by -Name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MapSelection.CollectionSet)]
    public BpfCollection? Collection { get; set; }

    /// <summary>The map's name in -Collection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSelection.CollectionSet)]
    [ArgumentCompleter(typeof(LoadedMapNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>Keys to delete.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    public object[]? Key { get; set; }

    protected override void ProcessRecord()
    {
        var map = MapSelection.Resolve(this, Map, Collection, Name);
        if (map is null) return;
        var entries = MapSelection.Entries(map);
        foreach (var key in Key!)
        {
            if (!ShouldProcess($"map '{map.Name}' (id {map.Id})", $"Delete key {key}")) continue;
            try
            {
                if (!entries.Delete(key))
                    WriteError(new ErrorRecord(new ItemNotFoundException($"Map '{map.Name}' has no entry for key {key}."),
                        "MapKeyNotFound", ErrorCategory.ObjectNotFound, key));
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                WriteError(ErrorRecords.From(e, map.Name));
            }
        }
    }
}
