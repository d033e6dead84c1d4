using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Update-BpfLink: puts another program behind a link atomically (BPF_LINK_UPDATE), so no event goes unhandled
/// between the old program and the new. Works where the kernel supports it (XDP, tcx, cgroup, netns, iterator links...).
/// </summary>
[Cmdlet(VerbsData.Update, "BpfLink", SupportsShouldProcess = true)]
[OutputType(typeof(BpfLink), typeof(SystemLink))]
public sealed class UpdateBpfLinkCommand : PSCmdlet
{
    /// <summary>The link: from New-BpfLink, from Get-BpfLink, or a kernel link id.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object? InputObject { get; set; }

    /// <summary>The program to put behind the link.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNull]
    public LoadedProgram? Program { get; set; }

    /// <summary>Replace only if this program is still the one attached (BPF_F_REPLACE).</summary>
    [Parameter]
    public LoadedProgram? ExpectedProgram { get; set; }

    /// <summary>Write the updated link.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        var item = KernelObjectArguments.Unwrap(InputObject);
        try
        {
            switch (item)
            {
                case BpfLink link:
                    if (!ShouldProcess(link.ToString(), $"Replace the program with '{Program!.Name}'")) return;
                    link.Update(Program!, ExpectedProgram);
                    if (PassThru) WriteObject(link);
                    break;
                case SystemLink or uint or int or long:
                    uint id = item is SystemLink s ? s.Id : (uint)Convert.ToInt64(item);
                    var mine = RunspaceLinks.List(Runspace.DefaultRunspace).FirstOrDefault(l => l.Id == id);
                    if (mine is not null)
                    {
                        InputObject = mine;
                        ProcessRecord();
                        return;
                    }
                    if (!ShouldProcess($"link {id}", $"Replace the program with '{Program!.Name}'")) return;
                    using (var opened = KernelLink.OpenById(id))
                    {
                        opened.Update(Program!, ExpectedProgram);
                        if (PassThru) WriteObject(SystemLink.From(opened.Fd!));
                    }
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
