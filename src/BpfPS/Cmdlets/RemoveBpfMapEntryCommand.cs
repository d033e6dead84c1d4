using System.Management.Automation;

namespace BpfPS.Cmdlets;

/// <summary>Remove-BpfMapEntry: deletes keys from a map (hash-like maps; array entries cannot be deleted).</summary>
[Cmdlet(VerbsCommon.Remove, "BpfMapEntry", DefaultParameterSetName = MapSelection.MapSet, SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveBpfMapEntryCommand : PSCmdlet, IDisposable
{
    private readonly OpenedMap _opened = new();

    /// <summary>
    /// The map to delete from: a loaded map, a map from Get-BpfMap, a map id, a pin path, the name of a loaded map, or an
    /// entry from Get-BpfMapEntry (which deletes that entry).
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

    /// <summary>Keys to delete.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
    public object[]? Key { get; set; }

    protected override void ProcessRecord()
    {
        var map = MapSelection.Argument(this, Map, Collection, Name);
        if (map is null) return;
        // A piped entry deletes its own key, exactly as read: binding it to -Key would split a key that is an array.
        var keys = KernelObjectArguments.Unwrap(map) is BpfMapEntry entry ? new[] { entry.Key } : Key!;
        try
        {
            var (handle, entries) = _opened.Open(this, map);
            foreach (var key in keys)
            {
                if (!ShouldProcess(handle.Describe(), $"Delete key {PowerShellValues.Describe(key)}")) continue;
                try
                {
                    if (!entries.Delete(key))
                        WriteError(new ErrorRecord(
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
