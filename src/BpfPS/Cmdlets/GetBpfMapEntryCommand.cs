using System.Management.Automation;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>Get-BpfMapEntry: reads a loaded map's entries, decoded through its BTF (all of them, or the keys asked for).</summary>
[Cmdlet(VerbsCommon.Get, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet)]
[OutputType(typeof(BpfMapEntry))]
public sealed class GetBpfMapEntryCommand : PSCmdlet
{
    /// <summary>Maps to read, e.g. $collection.Maps.packets or $collection.Maps.Values.</summary>
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

    /// <summary>Keys to read; without it, every entry.</summary>
    [Parameter(Position = 1)]
    public object[]? Key { get; set; }

    protected override void ProcessRecord()
    {
        var map = MapSelection.Resolve(this, Map, Collection, Name);
        if (map is null) return;
        try
        {
            var entries = MapSelection.Entries(map);
            if (Key is null)
            {
                foreach (var entry in entries.Enumerate())
                    WriteObject(new BpfMapEntry(map.Name, entry.Key, entry.Value));
                return;
            }
            foreach (var key in Key)
            {
                if (entries.TryGet(key, out var value)) WriteObject(new BpfMapEntry(map.Name, key is PSObject p ? p.BaseObject : key, value));
                else WriteError(new ErrorRecord(new ItemNotFoundException($"Map '{map.Name}' has no entry for key {key}."),
                    "MapKeyNotFound", ErrorCategory.ObjectNotFound, key));
            }
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, map.Name));
        }
    }
}
