using System.Management.Automation;
using BpfPS.Core.Maps;

namespace BpfPS.Cmdlets;

/// <summary>
/// Set-BpfMapEntry: writes one entry of a map, encoding key and value through the map's BTF. Keys and values may be
/// numbers, strings, hashtables, PSCustomObjects, arrays or bytes, so an entry read by Get-BpfMapEntry can be changed
/// and written back, or piped in whole.
/// </summary>
[Cmdlet(VerbsCommon.Set, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet, SupportsShouldProcess = true)]
[OutputType(typeof(BpfMapEntry))]
public sealed class SetBpfMapEntryCommand : PSCmdlet, IDisposable
{
    private readonly OpenedMap _opened = new();

    /// <summary>
    /// The map to write: a loaded map, a map from Get-BpfMap, a map id, a pin path, the name of a loaded map, or an entry
    /// from Get-BpfMapEntry (its own map).
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSelection.MapSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object? Map { get; set; }

    /// <summary>A loaded collection holding the map named by -Name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MapSelection.CollectionSet)]
    [ValidateNotNull]
    public BpfCollection? Collection { get; set; }

    /// <summary>The map's name in -Collection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = MapSelection.CollectionSet)]
    [ArgumentCompleter(typeof(LoadedMapNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The key (a number, a string, a hashtable or PSCustomObject of fields, an array, or bytes).</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    [AllowNull]
    public object? Key { get; set; }

    /// <summary>The value (as the key; for per-CPU maps one value for every CPU, or a list of one per CPU); fields left out are zero.</summary>
    [Parameter(Mandatory = true, Position = 2, ValueFromPipelineByPropertyName = true)]
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
        var map = MapSelection.Argument(this, Map, Collection, Name);
        if (map is null) return;
        try
        {
            var (handle, entries) = _opened.Open(this, map);
            if (!ShouldProcess(handle.Describe(), $"Set key {PowerShellValues.Describe(Key)} to {PowerShellValues.Describe(Value)}")) return;
            entries.Set(Key, Value, Flag);
            if (PassThru) WriteObject(BpfMapEntry.FromDecoded(handle, entries.DecodeKey(entries.EncodeKey(Key)), entries.Get(Key)));
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            WriteError(KernelObjectErrors.From(e, KernelObjectArguments.Unwrap(map)));
        }
    }

    public void Dispose() => _opened.Dispose();
}
