using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BpfPS;

/// <summary>
/// Remove-Module BpfPS: releases what this runspace holds (its kernel BTF reference, its probed features, its loaded collections), so
/// removing the module frees kernel objects and memory without waiting for the runspace to close.
/// </summary>
public sealed class ModuleCleanup : IModuleAssemblyCleanup
{
    public void OnRemove(PSModuleInfo psModuleInfo)
    {
        var runspace = Runspace.DefaultRunspace;
        RunspaceLinks.DisposeAll(runspace);
        RunspaceCollections.DisposeAll(runspace);
        RunspaceBtfCache.Release(runspace);
        Features.RunspaceFeatureCache.Release(runspace);
    }
}
