using System.Management.Automation;

using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Cmdlets;

/// <summary>
/// What Get-BpfProgram and Get-BpfMap share: the same four ways to choose kernel objects (by name and type, by id, from
/// pins, from loaded collections) and the same error handling; the two differ only in the kind of object they describe.
/// </summary>
/// <typeparam name="TObject">What is written to the pipeline (SystemProgram, SystemMap).</typeparam>
/// <typeparam name="TType">The object's type enum (BpfProgramType, BpfMapType).</typeparam>
public abstract class GetKernelObjectCommand<TObject, TType> : PSCmdlet
    where TObject : class
    where TType : struct, Enum
{
    private protected const string NameSet = "Name", IdSet = "Id", PinnedSet = "Pinned", CollectionSet = "Collection";

    private PinIndex? _pins;

    /// <summary>Names to list; wildcards allowed. Without it, every object of the kind.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(KernelObjectNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only objects of these types.</summary>
    [Parameter(ParameterSetName = NameSet)]
    public TType[]? Type { get; set; }

    /// <summary>Kernel ids.</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet, ValueFromPipelineByPropertyName = true)]
    public uint[]? Id { get; set; }

    /// <summary>Paths of pins on bpffs; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PinnedSet)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Pinned { get; set; }

    /// <summary>Loaded collections whose objects to describe.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet, ValueFromPipeline = true)]
    public BpfCollection[]? Collection { get; set; }

    /// <summary>The kind of object this cmdlet describes (also names it in messages).</summary>
    private protected abstract BpfObjectKind Kind { get; }
    private protected abstract TObject? GetById(uint id, PinIndex pins);
    private protected abstract TObject? Describe(BpfFd fd, PinIndex pins);
    private protected abstract IReadOnlyList<TObject> All(PinIndex pins);
    private protected abstract IEnumerable<(string Name, BpfFd Fd)> Loaded(BpfCollection collection);
    private protected abstract string NameOf(TObject item);
    private protected abstract TType TypeOf(TObject item);

    private string Noun => Kind == BpfObjectKind.Map ? "map" : "program";

    protected override void ProcessRecord()
    {
        try
        {
            switch (ParameterSetName)
            {
                case IdSet:
                    foreach (var id in Id!)
                    {
                        if (GetById(id, Pins) is { } item) WriteObject(item);
                        else WriteError(new ErrorRecord(new ItemNotFoundException($"No {Noun} with id {id} is loaded."),
                            Kind == BpfObjectKind.Map ? "MapNotFound" : "ProgramNotFound", ErrorCategory.ObjectNotFound, id));
                    }
                    break;
                case PinnedSet:
                    foreach (var pattern in Pinned!)
                    {
                        // A wildcard may also match pins of other kinds: skip those; a path named exactly must hold this kind.
                        bool wildcard = WildcardPattern.ContainsWildcardCharacters(pattern);
                        foreach (var path in PathResolver.ResolveFiles(this, [pattern], literal: false))
                            WriteDescribed(path, () =>
                            {
                                using var pinned = wildcard ? BpfPins.Open(path) : BpfPins.Open(path, Kind);
                                return pinned.Kind == Kind ? Describe(pinned.Fd, Pins) : null;
                            });
                    }
                    break;
                case CollectionSet:
                    foreach (var collection in Collection!)
                    foreach (var (name, fd) in Loaded(collection))
                    {
                        if (fd.IsClosed)
                            WriteError(new ErrorRecord(new InvalidOperationException($"{char.ToUpperInvariant(Noun[0])}{Noun[1..]} '{name}' was removed with its collection."),
                                Kind == BpfObjectKind.Map ? "MapRemoved" : "ProgramRemoved", ErrorCategory.InvalidOperation, name));
                        else
                            WriteDescribed(name, () => Describe(fd, Pins));
                    }
                    break;
                default:
                    var selected = KernelObjectSelection.ByName(this, All(Pins), NameOf, Name, Noun)
                        .Where(item => Type is null || Type.Contains(TypeOf(item)));
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

    private void WriteDescribed(object target, Func<TObject?> describe)
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
