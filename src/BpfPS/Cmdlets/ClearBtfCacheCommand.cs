using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BpfPS.Cmdlets;

/// <summary>
/// Clear-BtfCache: drops this runspace's reference to the kernel (and module) BTF, so the memory is freed once no other
/// runspace holds it. The next BTF use parses again.
/// </summary>
[Cmdlet(VerbsCommon.Clear, "BtfCache", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
[OutputType(typeof(void))]
public sealed class ClearBtfCacheCommand : PSCmdlet
{
    protected override void EndProcessing()
    {
        var runspace = Runspace.DefaultRunspace;
        if (!ShouldProcess($"runspace {runspace?.Id}", "Release the kernel BTF this runspace holds")) return;
        var released = RunspaceBtfCache.Release(runspace);
        WriteVerbose(released ? "Released this runspace's kernel BTF." : "This runspace held no kernel BTF.");
    }
}
