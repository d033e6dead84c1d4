using System.Management.Automation;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfMap: the maps in the kernel, system-wide (like bpftool map show): all, by id, by name, from pins, or the ones
/// of a loaded collection; each with its type, sizes, BTF ids and pins.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfMap", DefaultParameterSetName = NameSet)]
[OutputType(typeof(SystemMap))]
public sealed class GetBpfMapCommand : PSCmdlet
{
    private const string NameSet = "Name", IdSet = "Id", PinnedSet = "Pinned", CollectionSet = "Collection";

    private PinIndex? _pins;

    /// <summary>Map names to list; wildcards allowed. Without it, every map.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(KernelObjectNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only maps of these types.</summary>
    [Parameter(ParameterSetName = NameSet)]
    public BpfMapType[]? Type { get; set; }

    /// <summary>Kernel map ids (a program's MapIds, for example).</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    public uint[]? Id { get; set; }

    /// <summary>Paths of pinned maps on bpffs; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PinnedSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Pinned { get; set; }

    /// <summary>Loaded collections whose maps to describe.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet, ValueFromPipeline = true)]
    public BpfCollection[]? Collection { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            switch (ParameterSetName)
            {
                case IdSet:
                    foreach (var id in Id!)
                    {
                        if (BpfInventory.GetMap(id, Pins) is { } map) WriteObject(map);
                        else WriteError(new ErrorRecord(new ItemNotFoundException($"No map with id {id} exists."),
                            "MapNotFound", ErrorCategory.ObjectNotFound, id));
                    }
                    break;
                case PinnedSet:
                    foreach (var pattern in Pinned!)
                    {
                        // A wildcard may also match pins of other kinds: skip those; a path named exactly must hold a map.
                        bool wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
                        foreach (var path in PathResolver.ResolveFiles(this, [pattern], literal: false))
                            Describe(path, () =>
                            {
                                using var pinned = wildcard ? BpfPins.Open(path) : BpfPins.Open(path, BpfObjectKind.Map);
                                return pinned.Kind == BpfObjectKind.Map ? BpfInventory.DescribeMap(pinned.Fd, Pins) : null;
                            });
                    }
                    break;
                case CollectionSet:
                    foreach (var collection in Collection!)
                    foreach (var loaded in collection.Maps.Values)
                    {
                        if (loaded.Fd.IsClosed)
                            WriteError(new ErrorRecord(new InvalidOperationException($"Map '{loaded.Name}' was removed with its collection."),
                                "MapRemoved", ErrorCategory.InvalidOperation, loaded));
                        else
                            Describe(loaded.Name, () => BpfInventory.DescribeMap(loaded.Fd, Pins));
                    }
                    break;
                default:
                    var all = BpfInventory.Maps(Pins);
                    var selected = KernelObjectSelection.ByName(this, all, m => m.Name, Name, "map")
                        .Where(m => Type is null || Type.Contains(m.Type));
                    WriteObject(selected, enumerateCollection: true);
                    break;
            }
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            ThrowTerminatingError(KernelObjectErrors.From(e, null));
        }
    }

    /// <summary>Every bpffs walked once per command, on first need.</summary>
    private PinIndex Pins => _pins ??= PinIndex.Build();

    private void Describe(object target, Func<SystemMap?> describe)
    {
        try
        {
            if (describe() is { } described) WriteObject(described);
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e) && e is not BpfSyscallException { IsPermissionDenied: true })
        {
            WriteError(KernelObjectErrors.From(e, target));
        }
    }
}
