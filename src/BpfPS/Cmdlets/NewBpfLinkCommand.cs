using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// New-BpfLink: attaches a loaded program to a kernel hook and returns the link. Detached by Remove-BpfLink, by
/// removing the program's collection, or when the runspace closes, unless pinned.
/// </summary>
[Cmdlet(VerbsCommon.New, "BpfLink", DefaultParameterSetName = SectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(BpfLink))]
public sealed partial class NewBpfLinkCommand : PSCmdlet
{
    private const string SectionSet = "Section";

    /// <summary>The program to attach, e.g. $collection.Programs.count_events.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public LoadedProgram? Program { get; set; }

    protected override void ProcessRecord()
    {
        var program = Program!;
        if (!ShouldProcess(program.Name, ParameterSetName.StartsWith("Network", StringComparison.Ordinal) ? "Attach" : $"Attach where section '{program.SectionName}' says")) return;
        try
        {
            var link = ParameterSetName.StartsWith("Network", StringComparison.Ordinal)
                ? AttachNetwork()
                : throw new NotSupportedException($"section '{program.SectionName}' attach is not available yet");
            Keep(link, program);
            WriteObject(link);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, program.Name));
        }
    }

    /// <summary>Gives the link to this runspace and to the collection that loaded <paramref name="program"/>.</summary>
    private static void Keep(BpfLink link, LoadedProgram program) => RunspaceLinks.Add(Runspace.DefaultRunspace, link, program);

    /// <summary>Implemented in NewBpfLinkCommand.Network.cs: attaches for the parameter sets named "Network...".</summary>
    private partial BpfLink AttachNetwork();
}
