using System.Management.Automation;
using BpfPS.Core.Maps;

namespace BpfPS.Cmdlets;

/// <summary>
/// Clear-BpfMap: removes every entry of a map: deletes every key, or for array maps (whose entries cannot be deleted)
/// writes zeroes at every index.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "BpfMap", DefaultParameterSetName = MapSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(long))]
public sealed class ClearBpfMapCommand : PSCmdlet
{
    private const string MapSet = "Map", CollectionSet = "Collection";

    /// <summary>
    /// Maps to clear: loaded maps ($collection.Maps['counts']), maps from Get-BpfMap, map ids, paths of pinned maps, or
    /// names of maps in collections this session loaded.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[]? Map { get; set; }

    /// <summary>A loaded collection holding the maps named by -Name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet)]
    [ValidateNotNull]
    public BpfCollection? Collection { get; set; }

    /// <summary>Names of maps in -Collection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CollectionSet)]
    [ArgumentCompleter(typeof(LoadedMapNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Write the number of entries removed or zeroed for each map.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == CollectionSet)
        {
            foreach (var name in Name!)
            {
                if (Collection!.Maps.TryGetValue(name, out var loaded)) Clear(loaded);
                else WriteError(new ErrorRecord(
                    new ItemNotFoundException($"{Collection.Name} has no map '{name}' (it has: {string.Join(", ", Collection.Maps.Keys)})."),
                    "MapNotFound", ErrorCategory.ObjectNotFound, name));
            }
            return;
        }
        foreach (var map in Map!) Clear(map);
    }

    private void Clear(object map)
    {
        try
        {
            using var handle = KernelObjectArguments.Map(this, map);
            var entries = MapEntries.Open(handle.Fd, name: handle.Name);
            string action = MapKinds.IsArray(entries.Type) ? $"Set all {entries.Info.MaxEntries} entries to zero" : "Delete every entry";
            if (!ShouldProcess(handle.Describe(), action)) return;
            long cleared = entries.Clear();
            WriteVerbose($"{handle.Describe()}: {(MapKinds.IsArray(entries.Type) ? "zeroed" : "deleted")} {cleared} entries.");
            if (PassThru) WriteObject(cleared);
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            WriteError(KernelObjectErrors.From(e, KernelObjectArguments.Unwrap(map)));
        }
    }
}
