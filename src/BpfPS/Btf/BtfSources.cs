using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>
/// Turns the -Kernel / -Path / -Module choice shared by the BTF cmdlets into specs, reporting each source that fails
/// as an error record and going on with the rest.
/// </summary>
internal static class BtfSources
{
    public const string Kernel = "Kernel";
    public const string Path = "Path";
    public const string Module = "Module";

    /// <summary>Kernel BTF through the runspace cache: the same instance on every call.</summary>
    public static IEnumerable<BtfSpec> KernelSpec(PSCmdlet cmdlet)
    {
        BtfSpec? spec = null;
        try
        {
            spec = RunspaceBtfCache.GetKernel(Runspace.DefaultRunspace);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            cmdlet.WriteError(ErrorRecords.From(e, KernelBtf.VmlinuxPath));
        }
        if (spec is not null) yield return spec;
    }

    public static IEnumerable<BtfSpec> ModuleSpecs(PSCmdlet cmdlet, IEnumerable<string> moduleNames)
    {
        foreach (var name in moduleNames)
        {
            BtfSpec? spec = null;
            try
            {
                spec = RunspaceBtfCache.GetModule(Runspace.DefaultRunspace, name);
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                cmdlet.WriteError(new ErrorRecord(
                    new ItemNotFoundException($"Kernel module '{name}' has no BTF: {System.IO.Path.Combine(KernelBtf.SysfsDirectory, name)} does not exist.", e),
                    "KernelModuleBtfNotFound", ErrorCategory.ObjectNotFound, name));
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                cmdlet.WriteError(ErrorRecords.From(e, name));
            }
            if (spec is not null) yield return spec;
        }
    }

    public static IEnumerable<BtfSpec> FileSpecs(PSCmdlet cmdlet, IEnumerable<string> paths, bool literal)
    {
        foreach (var file in PathResolver.ResolveFiles(cmdlet, paths, literal))
        {
            BtfSpec? spec = null;
            try
            {
                spec = KernelBtf.LoadFromFile(file);
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                cmdlet.WriteError(ErrorRecords.From(e, file));
            }
            if (spec is not null) yield return spec;
        }
    }
}
