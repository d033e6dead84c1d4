using System.Management.Automation;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Invoke-BpfIterator: runs an iterator program (iter/task, iter/bpf_map...) over the kernel's objects and returns
/// what it wrote: text lines, or with -Type records decoded through the object's BTF.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "BpfIterator", DefaultParameterSetName = ProgramSet)]
[OutputType(typeof(string), typeof(PSObject))]
public sealed class InvokeBpfIteratorCommand : PSCmdlet
{
    private const string ProgramSet = "Program", LinkSet = "Link";

    /// <summary>An iter/... program: a link is made for the run and removed after it.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ProgramSet, ValueFromPipeline = true)]
    public LoadedProgram? Program { get; set; }

    /// <summary>An iterator link from New-BpfLink -Iterator.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LinkSet, ValueFromPipeline = true)]
    public KernelLink? Link { get; set; }

    /// <summary>For iterators over one map's elements: the map.</summary>
    [Parameter(ParameterSetName = ProgramSet)]
    public LoadedMap? Map { get; set; }

    /// <summary>The BTF type the program writes with bpf_seq_write (e.g. "struct task_record"): output is decoded records, not lines.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Type { get; set; }

    protected override void ProcessRecord()
    {
        var program = Program ?? Link!.Program;
        try
        {
            if (Link is not null)
            {
                Run(Link, program);
                return;
            }
            using var link = IteratorLinks.Attach(Program!, Map);
            Run(link, Program);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, program?.Name ?? Link?.ToString()));
        }
    }

    private void Run(KernelLink link, LoadedProgram? program)
    {
        if (Type is null)
        {
            foreach (var line in IteratorLinks.RunLines(link)) WriteObject(line);
            return;
        }
        var btf = (program is null ? null : LinkCommands.CollectionOf(program)?.Collection.Spec.Btf)
            ?? throw new InvalidOperationException($"-Type needs the object's BTF: the iterator's program must come from a collection loaded in this session (with BTF).");
        foreach (var record in IteratorLinks.RunRecords(link, btf, Type)) WriteObject(PowerShellValues.ToPowerShell(record));
    }
}
