using System.Management.Automation;
using BpfPS.Core;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfCollectionSpec: parses object files and relocates their programs against kernel BTF without loading
/// anything, to inspect what Import-BpfCollection would do (maps, programs, CO-RE results, final instructions).
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfCollectionSpec", DefaultParameterSetName = PathSet)]
[OutputType(typeof(BpfCollectionSpecInfo))]
public sealed class GetBpfCollectionSpecCommand : PSCmdlet
{
    private const string PathSet = "Path", LiteralPathSet = "LiteralPath";
    private BtfSpec? _target;
    private bool _targetResolved;

    /// <summary>Object files; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Object files, taken as written; binds FullName/PSPath of piped files.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>A BTF file to relocate against instead of the running kernel's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KernelBtf { get; set; }

    protected override void ProcessRecord()
    {
        var literal = ParameterSetName == LiteralPathSet;
        foreach (var file in PathResolver.ResolveFiles(this, literal ? LiteralPath! : Path!, literal))
        {
            try
            {
                var spec = CollectionSpec.Load(file);
                if (!_targetResolved)
                {
                    _target = TargetBtf.Resolve(this, KernelBtf);
                    _targetResolved = true;
                }
                var environment = Environment(spec);
                WriteObject(new BpfCollectionSpecInfo(spec, spec.Programs.Values.Select(p => Relocate(spec, p, environment))));
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                WriteError(ErrorRecords.From(e, file));
            }
        }
    }

    /// <summary>What Import-BpfCollection would relocate with (target BTF, resolved __ksym externs), without bpf() calls.</summary>
    private RelocationEnvironment Environment(CollectionSpec spec)
    {
        try
        {
            return ProgramRelocator.CreateEnvironment(spec, new CollectionOptions { TargetBtf = _target });
        }
        catch (Exception e) when (e is BpfLoadException or BpfFormatException or IOException)
        {
            // A missing __ksym would fail the load too; still show the rest, relocated against the target alone.
            WriteWarning($"{spec.Path}: {e.Message}");
            return new RelocationEnvironment { Targets = _target is null ? [] : [_target] };
        }
    }

    private BpfProgramSpecInfo Relocate(CollectionSpec spec, ProgramSpec program, RelocationEnvironment environment)
    {
        try
        {
            return new BpfProgramSpecInfo(program, ProgramRelocator.Relocate(spec, program, environment), null);
        }
        catch (Exception e) when (e is BpfLoadException or BpfFormatException)
        {
            // The load would fail here too; show the program as linked and say why.
            WriteWarning($"{spec.Path}: program '{program.Name}' cannot be relocated: {e.Message}");
            return new BpfProgramSpecInfo(program, null, e.Message);
        }
    }
}
