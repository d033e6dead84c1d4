using System.Management.Automation;
using BpfPS.Core.Inventory;

namespace BpfPS.Cmdlets;

/// <summary>
/// Remove-BpfPin: removes pins from bpffs. The object itself lives on while a program, a link or an open descriptor
/// (a loaded collection, for example) still holds it; otherwise the kernel frees it.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "BpfPin", DefaultParameterSetName = PathSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveBpfPinCommand : PSCmdlet
{
    private const string PathSet = "Path", LiteralPathSet = "LiteralPath";

    /// <summary>Paths of pins on bpffs; wildcards allowed. Objects from Add-BpfPin and Get-BpfPin bind by their Path.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipelineByPropertyName = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Paths of pins, taken exactly as written (no wildcards).</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP", "PinnedPaths")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == LiteralPathSet;
        foreach (var path in PathResolver.ResolveFiles(this, literal ? LiteralPath! : Path!, literal))
        {
            try
            {
                if (!BpfPins.IsOnBpfFs(path))
                    throw new ArgumentException($"{path} is not on a bpf filesystem: it is not a pin, and Remove-BpfPin removes only pins.");
                if (!ShouldProcess(path, "Remove pin")) continue;
                BpfPins.Unpin(path);
                WriteVerbose($"Removed the pin at {path}.");
            }
            catch (Exception e) when (KernelObjectErrors.IsFailure(e))
            {
                WriteError(KernelObjectErrors.From(e, path));
            }
        }
    }
}
