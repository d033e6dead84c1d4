using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Btf;

namespace BpfPS.Cmdlets;

/// <summary>Get-BtfCache: shows whether kernel BTF is parsed, how much is decoded, and whether this runspace holds it.</summary>
[Cmdlet(VerbsCommon.Get, "BtfCache")]
[OutputType(typeof(BtfCacheInfo))]
public sealed class GetBtfCacheCommand : PSCmdlet
{
    protected override void EndProcessing()
    {
        var runspace = Runspace.DefaultRunspace;
        var held = RunspaceBtfCache.PeekKernel(runspace);
        // Looking must not load: report what is alive in the process, held here or not.
        var spec = held ?? RunspaceBtfCache.PeekAlive();
        WriteObject(new BtfCacheInfo
        {
            Source = KernelBtf.VmlinuxPath,
            Loaded = spec is not null,
            HeldByRunspace = held is not null,
            TypeCount = spec?.TypeCount ?? 0,
            DecodedTypeCount = spec?.DecodedTypeCount ?? 0,
            RawBytes = spec?.RawBytes.Length ?? 0,
            ParseCount = KernelBtf.ParseCount,
            InstanceId = spec is null ? 0 : SpecIdentity.Of(spec),
            Modules = RunspaceBtfCache.HeldModules(runspace),
            RunspaceId = runspace?.Id ?? 0,
        });
    }
}
