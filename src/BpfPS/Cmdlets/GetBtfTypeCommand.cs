using System.Management.Automation;
using BpfPS.Core.Btf;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BtfType: finds BTF types by name (wildcards), kind or id in the kernel's BTF, a kernel module's, or a file's,
/// and streams them as they are found.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BtfType", DefaultParameterSetName = BtfSources.Kernel)]
[OutputType(typeof(BtfTypeInfo))]
public sealed class GetBtfTypeCommand : PSCmdlet
{
    private List<BtfSpec>? _fileSpecs;
    private bool _pathFromCommandLine;

    /// <summary>Type names; wildcards allowed. Tab completion offers kernel type names.</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(BtfTypeNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Only types of these kinds.</summary>
    [Parameter]
    public BtfKind[]? Kind { get; set; }

    /// <summary>Type ids; binds the Id or TypeId property of piped objects (types, members).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    [Alias("TypeId")]
    public uint[]? Id { get; set; }

    /// <summary>Read the running kernel's BTF (/sys/kernel/btf/vmlinux). The default.</summary>
    [Parameter(ParameterSetName = BtfSources.Kernel)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>An ELF object with a .BTF section, or a raw BTF file. Wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BtfSources.Path, ValueFromPipelineByPropertyName = true)]
    [Alias("FullName")]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Kernel modules whose BTF to read (split BTF on top of vmlinux, from /sys/kernel/btf/&lt;name&gt;).</summary>
    [Parameter(Mandatory = true, ParameterSetName = BtfSources.Module)]
    [ArgumentCompleter(typeof(KernelModuleNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Module { get; set; }

    protected override void BeginProcessing() =>
        // Pipeline-bound parameters are not bound yet here: what is bound came from the command line.
        _pathFromCommandLine = MyInvocation.BoundParameters.ContainsKey(nameof(Path));

    protected override void ProcessRecord()
    {
        foreach (var spec in Sources())
        {
            try
            {
                WriteTypes(spec);
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                WriteError(ErrorRecords.From(e, spec.Source));
            }
        }
    }

    private IEnumerable<BtfSpec> Sources()
    {
        switch (ParameterSetName)
        {
            case BtfSources.Path when _pathFromCommandLine:
                // Files named on the command line are read once, however many ids come down the pipeline.
                return _fileSpecs ??= BtfSources.FileSpecs(this, Path!, literal: false).ToList();
            case BtfSources.Path:
                return BtfSources.FileSpecs(this, Path!, literal: false);
            case BtfSources.Module:
                return BtfSources.ModuleSpecs(this, Module!);
            default:
                return BtfSources.KernelSpec(this);
        }
    }

    private void WriteTypes(BtfSpec spec)
    {
        var patterns = Name?.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant)).ToArray();
        var kinds = Kind is { Length: > 0 } ? new HashSet<BtfKind>(Kind) : null;
        bool Matches(uint id) =>
            (kinds is null || kinds.Contains(spec.GetKind(id))) &&
            (patterns is null || patterns.Any(p => p.IsMatch(spec.GetName(id))));

        if (Id is { Length: > 0 })
        {
            foreach (var id in Id)
            {
                if (id >= spec.NextTypeId)
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"{spec.Source} has no type with id {id} (ids end at {spec.NextTypeId - 1})."),
                        "TypeIdNotFound", ErrorCategory.ObjectNotFound, id));
                else if (Matches(id))
                    WriteObject(new BtfTypeInfo(spec.GetType(id)));
            }
            return;
        }

        if (Name is { Length: > 0 } && !Name.Any(WildcardPattern.ContainsWildcardCharacters))
        {
            foreach (var name in Name)
            {
                var written = 0;
                foreach (var id in ExactIds(spec, name))
                {
                    if (kinds is not null && !kinds.Contains(spec.GetKind(id))) continue;
                    WriteObject(new BtfTypeInfo(spec.GetType(id)));
                    written++;
                }
                if (written == 0)
                {
                    var ofKind = kinds is null ? "" : $" of kind {string.Join(" or ", Kind!)}";
                    WriteError(new ErrorRecord(
                        new ItemNotFoundException($"{spec.Source} has no type named '{name}'{ofKind}."),
                        "TypeNotFound", ErrorCategory.ObjectNotFound, name));
                }
            }
            return;
        }

        for (var id = spec.FirstTypeId; id < spec.NextTypeId; id++)
        {
            if (Matches(id)) WriteObject(new BtfTypeInfo(spec.GetType(id)));
        }
    }

    /// <summary>
    /// Ids named exactly <paramref name="name"/> that the spec itself defines (a module's split spec also answers for
    /// vmlinux). The name index is case-sensitive like C; PowerShell users expect case-insensitive, so a miss falls
    /// back to a scan.
    /// </summary>
    private static IEnumerable<uint> ExactIds(BtfSpec spec, string name)
    {
        var ids = spec.FindByName(name).Where(id => id >= spec.FirstTypeId).ToList();
        if (ids.Count > 0) return ids;
        for (var id = spec.FirstTypeId; id < spec.NextTypeId; id++)
        {
            if (string.Equals(spec.GetName(id), name, StringComparison.OrdinalIgnoreCase)) ids.Add(id);
        }
        return ids;
    }
}
