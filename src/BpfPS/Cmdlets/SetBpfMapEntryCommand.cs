using System.Management.Automation;
using BpfPS.Core.Loading;
using BpfPS.Core.Maps;

namespace BpfPS.Cmdlets;

/// <summary>Set-BpfMapEntry: writes one entry of a loaded map, encoding key and value through the map's BTF.</summary>
[Cmdlet(VerbsCommon.Set, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet, SupportsShouldProcess = true)]
[OutputType(typeof(BpfMapEntry))]
public sealed class SetBpfMapEntryCommand : PSCmdlet
{
    /// <summary>The map to write.</summary>
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

    /// <summary>The key (a number, a string, a hashtable of fields, or bytes).</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [AllowNull]
    public object? Key { get; set; }

    /// <summary>The value (a number, a string, a hashtable of fields, or bytes); fields left out are zero.</summary>
    [Parameter(Mandatory = true, Position = 2)]
    [AllowNull]
    public object? Value { get; set; }

    /// <summary>Any (create or replace, the default), NoExist (only create), Exist (only replace), Lock.</summary>
    [Parameter]
    public MapUpdateFlags Flag { get; set; } = MapUpdateFlags.Any;

    /// <summary>Return the entry as written.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var map = MapSelection.Resolve(this, Map, Collection, Name);
        if (map is null || !ShouldProcess($"map '{map.Name}' (id {map.Id})", $"Set key {Key} to {Value}")) return;
        try
        {
            var entries = MapSelection.Entries(map);
            entries.Set(Key, Value, Flag);
            if (PassThru) WriteObject(new BpfMapEntry(map.Name, Key is PSObject p ? p.BaseObject : Key, entries.Get(Key)));
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, map.Name));
        }
    }
}
