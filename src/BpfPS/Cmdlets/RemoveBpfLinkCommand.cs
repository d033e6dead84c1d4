using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;

namespace BpfPS.Cmdlets;

/// <summary>
/// Remove-BpfLink: detaches links. A link this session made is closed (a pinned one stays attached through its pin,
/// until Remove-BpfPin); any other kernel link, named by id or from Get-BpfLink, is detached with BPF_LINK_DETACH.
/// </summary>
[Cmdlet(VerbsCommon.Remove, "BpfLink", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(void))]
public sealed class RemoveBpfLinkCommand : PSCmdlet
{
    private const string InputObjectSet = "InputObject", IdSet = "Id";

    /// <summary>Links from New-BpfLink (or $collection.Links), or from Get-BpfLink.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[]? InputObject { get; set; }

    /// <summary>Kernel link ids.</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet)]
    public uint[]? Id { get; set; }

    protected override void ProcessRecord()
    {
        var items = ParameterSetName == IdSet ? Id!.Cast<object>() : InputObject!.Select(KernelObjectArguments.Unwrap);
        foreach (var item in items)
        {
            try
            {
                switch (item)
                {
                    case BpfLink link:
                        Remove(link);
                        break;
                    case SystemLink system:
                        RemoveById(system.Id);
                        break;
                    case uint or int or long when Convert.ToInt64(item) is > 0 and <= uint.MaxValue:
                        RemoveById((uint)Convert.ToInt64(item));
                        break;
                    default:
                        WriteError(new ErrorRecord(new ArgumentException($"Expected a link from New-BpfLink or Get-BpfLink, or a link id; got {item?.GetType().Name ?? "null"}."),
                            "NotALink", ErrorCategory.InvalidArgument, item));
                        break;
                }
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                WriteError(ErrorRecords.From(e, item));
            }
        }
    }

    private void Remove(BpfLink link)
    {
        if (link.IsDisposed)
        {
            WriteVerbose($"{link} was already removed.");
            return;
        }
        if (!ShouldProcess(link.ToString(), "Detach")) return;
        RunspaceLinks.Remove(Runspace.DefaultRunspace, link);
        WriteVerbose($"Detached {link}.");
    }

    private void RemoveById(uint id)
    {
        var mine = RunspaceLinks.List(Runspace.DefaultRunspace).FirstOrDefault(l => l.Id == id);
        if (mine is not null)
        {
            Remove(mine);
            return;
        }
        if (SystemLink.TryGet(id) is not { } system)
        {
            WriteError(new ErrorRecord(new ItemNotFoundException($"No link has id {id}."), "LinkNotFound", ErrorCategory.ObjectNotFound, id));
            return;
        }
        if (!ShouldProcess(system.ToString(), "Detach (BPF_LINK_DETACH: also when pinned or held by another process)")) return;
        using var fd = BpfSyscall.LinkGetFdById(id);
        try
        {
            BpfSyscall.LinkDetach(fd);
        }
        catch (BpfSyscallException e) when (e.ErrorNumber is Errno.EOPNOTSUPP or Errno.ENOTSUPP or Errno.EINVAL)
        {
            // Only some link kinds (cgroup, XDP, tcx, netns, netfilter, struct_ops...) can be detached from outside.
            WriteError(new ErrorRecord(new NotSupportedException(
                    $"The kernel cannot force-detach {system.Kind} link {id} ({e.ErrorName}): it stays attached while its pin or the process holding it exists; remove the pin (Remove-BpfPin) or end that process.", e),
                $"LinkDetachNotSupported,{e.ErrorName}", ErrorCategory.NotImplemented, system));
            return;
        }
        WriteVerbose($"Detached {system}.");
    }
}
