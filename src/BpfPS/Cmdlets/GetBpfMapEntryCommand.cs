using System.Management.Automation;
using BpfPS.Core.Maps;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfMapEntry: reads a map's entries (all of them, or the keys asked for), decoded through its BTF, with structs
/// as PSCustomObjects so their members sort, filter and format as properties.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet)]
[OutputType(typeof(BpfMapEntry))]
public sealed class GetBpfMapEntryCommand : PSCmdlet, IDisposable
{
    private readonly OpenedMap _opened = new();

    /// <summary>
    /// Maps to read: loaded maps ($collection.Maps['counts']), maps from Get-BpfMap, map ids, pin paths, or names of maps
    /// in collections this session loaded.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSelection.MapSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[]? Map { get; set; }

    /// <summary>A loaded collection holding the map named by -Name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MapSelection.CollectionSet)]
    [ValidateNotNull]
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
        if (ParameterSetName == MapSelection.CollectionSet)
        {
            if (MapSelection.Argument(this, null, Collection, Name) is { } loaded) Read(loaded);
            return;
        }
        foreach (var map in Map!) Read(map);
    }

    private void Read(object map)
    {
        try
        {
            var (handle, entries) = _opened.Open(this, map);
            if (Key is null)
            {
                foreach (var entry in entries.Enumerate())
                    WriteObject(BpfMapEntry.FromDecoded(handle, entry.Key, entry.Value));
                return;
            }
            foreach (var key in Key)
            {
                try
                {
                    if (entries.TryGet(key, out var value)) WriteObject(BpfMapEntry.FromDecoded(handle, entries.DecodeKey(entries.EncodeKey(key)), value));
                    else WriteError(new ErrorRecord(
                        new ItemNotFoundException($"Map '{handle.Name}' has no entry for key {PowerShellValues.Describe(key)}."),
                        "MapKeyNotFound", ErrorCategory.ObjectNotFound, key));
                }
                catch (Exception e) when (KernelObjectErrors.IsFailure(e))
                {
                    WriteError(KernelObjectErrors.From(e, key));
                }
            }
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            WriteError(KernelObjectErrors.From(e, KernelObjectArguments.Unwrap(map)));
        }
    }

    public void Dispose() => _opened.Dispose();
}
