using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>Which BTF a load relocates against: a file given with -KernelBtf, else the runspace's kernel spec.</summary>
internal static class TargetBtf
{
    /// <summary>
    /// The target spec, or null when the kernel publishes no BTF (then objects without CO-RE still load).
    /// A -KernelBtf file that cannot be read stops the command: nothing could load against it.
    /// </summary>
    public static BtfSpec? Resolve(PSCmdlet cmdlet, string? kernelBtfPath)
    {
        if (kernelBtfPath is null)
        {
            return File.Exists(KernelBtf.VmlinuxPath) ? RunspaceBtfCache.GetKernel(Runspace.DefaultRunspace) : null;
        }
        // One file, taken literally: a load cannot go on against a target that is not there.
        var file = PathResolver.ResolveOutput(cmdlet, kernelBtfPath);
        if (!File.Exists(file)) cmdlet.ThrowTerminatingError(ErrorRecords.PathNotFound(kernelBtfPath));
        try
        {
            return KernelBtf.LoadFromFile(file);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            cmdlet.ThrowTerminatingError(ErrorRecords.From(e, file));
            return null;
        }
    }
}
