using System.Management.Automation;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfProgram: the programs loaded in the kernel, system-wide (like bpftool prog show): all, by id, by name, from
/// pins, or the ones of a loaded collection; each with its type, tag, load time, run statistics, maps and pins.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfProgram", DefaultParameterSetName = NameSet)]
[OutputType(typeof(SystemProgram))]
public sealed class GetBpfProgramCommand : PSCmdlet
{
    private const string NameSet = "Name", IdSet = "Id", PinnedSet = "Pinned", CollectionSet = "Collection";

    private PinIndex? _pins;

    /// <summary>Program names to list; wildcards allowed. Without it, every program.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(KernelObjectNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only programs of these types.</summary>
    [Parameter(ParameterSetName = NameSet)]
    public BpfProgramType[]? Type { get; set; }

    /// <summary>Kernel program ids.</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    public uint[]? Id { get; set; }

    /// <summary>Paths of pinned programs on bpffs; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PinnedSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Pinned { get; set; }

    /// <summary>Loaded collections whose programs to describe.</summary>
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
                        if (BpfInventory.GetProgram(id, Pins) is { } program) WriteObject(program);
                        else WriteError(NotFound(id));
                    }
                    break;
                case PinnedSet:
                    foreach (var pattern in Pinned!)
                    {
                        // A wildcard may also match pins of other kinds: skip those; a path named exactly must hold a program.
                        bool wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
                        foreach (var path in PathResolver.ResolveFiles(this, [pattern], literal: false))
                            Describe(path, () =>
                            {
                                using var pinned = wildcard ? BpfPins.Open(path) : BpfPins.Open(path, BpfObjectKind.Program);
                                return pinned.Kind == BpfObjectKind.Program ? BpfInventory.DescribeProgram(pinned.Fd, Pins) : null;
                            });
                    }
                    break;
                case CollectionSet:
                    foreach (var collection in Collection!)
                    foreach (var loaded in collection.Programs.Values)
                    {
                        if (loaded.Fd.IsClosed)
                            WriteError(new ErrorRecord(new InvalidOperationException($"Program '{loaded.Name}' was removed with its collection."),
                                "ProgramRemoved", ErrorCategory.InvalidOperation, loaded));
                        else
                            Describe(loaded.Name, () => BpfInventory.DescribeProgram(loaded.Fd, Pins));
                    }
                    break;
                default:
                    var all = BpfInventory.Programs(Pins);
                    var selected = KernelObjectSelection.ByName(this, all, p => p.Name, Name, "program")
                        .Where(p => Type is null || Type.Contains(p.Type));
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

    private void Describe(object target, Func<SystemProgram?> describe)
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

    private static ErrorRecord NotFound(uint id) =>
        new(new ItemNotFoundException($"No program with id {id} is loaded."), "ProgramNotFound", ErrorCategory.ObjectNotFound, id);
}
