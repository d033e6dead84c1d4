using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// New-BpfLink: attaches a loaded program to a kernel hook and returns the link: where its section says, or at a
/// tracepoint, raw tracepoint, uprobe, kprobe, perf event or iterator named here (network hooks in
/// NewBpfLinkCommand.Network.cs). The link is detached by Remove-BpfLink, by removing the program's collection, or
/// when the runspace closes, unless it is pinned.
/// </summary>
[Cmdlet(VerbsCommon.New, "BpfLink", DefaultParameterSetName = SectionSet, SupportsShouldProcess = true)]
[OutputType(typeof(BpfLink))]
public sealed partial class NewBpfLinkCommand : PSCmdlet
{
    private const string SectionSet = "Section", CollectionSet = "Collection", TracepointSet = "Tracepoint", RawTracepointSet = "RawTracepoint",
        UprobeSet = "Uprobe", KprobeSet = "Kprobe", PerfEventSet = "PerfEvent", IteratorSet = "Iterator";

    /// <summary>The program to attach, e.g. $collection.Programs.count_events.</summary>
    [Parameter(Position = 0, ValueFromPipeline = true)]
    public LoadedProgram? Program { get; set; }

    /// <summary>A loaded collection: every program whose section names a target is attached, all or nothing.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet, ValueFromPipeline = true)]
    public BpfCollection? Collection { get; set; }

    /// <summary>A tracepoint as CATEGORY/NAME, e.g. syscalls/sys_enter_openat or sched/sched_switch.</summary>
    [Parameter(Mandatory = true, ParameterSetName = TracepointSet)]
    [ValidateNotNullOrEmpty]
    public string? Tracepoint { get; set; }

    /// <summary>A raw tracepoint name, e.g. sys_enter or sched_switch.</summary>
    [Parameter(Mandatory = true, ParameterSetName = RawTracepointSet)]
    [ValidateNotNullOrEmpty]
    public string? RawTracepoint { get; set; }

    /// <summary>The binary or shared library to probe (a uprobe), e.g. /usr/bin/bash; a bare command name is looked up on PATH.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UprobeSet)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>The function(s) in -Path to probe (several only for uprobe.multi programs). Without it, -Offset is a file offset.</summary>
    [Parameter(ParameterSetName = UprobeSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Symbol { get; set; }

    /// <summary>A kernel function to probe (a kprobe), e.g. do_unlinkat.</summary>
    [Parameter(Mandatory = true, ParameterSetName = KprobeSet)]
    [ValidateNotNullOrEmpty]
    public string? KernelFunction { get; set; }

    /// <summary>Bytes past the start of -Symbol or -KernelFunction (or, without -Symbol, the file offset in -Path).</summary>
    [Parameter(ParameterSetName = UprobeSet)]
    [Parameter(ParameterSetName = KprobeSet)]
    public ulong Offset { get; set; }

    /// <summary>Only this process triggers the uprobe (default: every process running the binary).</summary>
    [Parameter(ParameterSetName = UprobeSet)]
    [ValidateRange(0, int.MaxValue)]
    public int Pid { get; set; } = -1;

    /// <summary>Probe the function's return (uretprobe, kretprobe) instead of its entry.</summary>
    [Parameter(ParameterSetName = UprobeSet)]
    [Parameter(ParameterSetName = KprobeSet)]
    public SwitchParameter Return { get; set; }

    /// <summary>A software perf event to sample on every CPU (perf_event programs), e.g. CpuClock.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PerfEventSet)]
    public PerfSoftwareEvent PerfEvent { get; set; }

    /// <summary>Samples per second and CPU for -PerfEvent.</summary>
    [Parameter(ParameterSetName = PerfEventSet)]
    [ValidateRange(1, 1_000_000)]
    public ulong Frequency { get; set; } = 99;

    /// <summary>Make an iterator link for an iter/... program (run it with Invoke-BpfIterator).</summary>
    [Parameter(Mandatory = true, ParameterSetName = IteratorSet)]
    public SwitchParameter Iterator { get; set; }

    /// <summary>For iterators over one map's elements (iter/bpf_map_elem...): the map.</summary>
    [Parameter(ParameterSetName = IteratorSet)]
    public LoadedMap? Map { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == CollectionSet)
        {
            AttachCollection(Collection!);
            return;
        }
        if (Program is not { } program)
        {
            ThrowTerminatingError(new ErrorRecord(new ArgumentException("New-BpfLink needs -Program (or a program piped in), or -Collection."),
                "ProgramMissing", ErrorCategory.InvalidArgument, null));
            return;
        }
        if (program.Fd.IsClosed)
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"Program '{program.Name}' was removed with its collection."),
                "ProgramRemoved", ErrorCategory.InvalidOperation, program));
            return;
        }
        if (!ShouldProcess(program.Name, Plan(program))) return;
        try
        {
            foreach (var link in Attach(program))
            {
                Keep(link, program);
                WriteObject(link);
            }
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, program.Name));
        }
    }

    private IReadOnlyList<BpfLink> Attach(LoadedProgram program)
    {
        if (ParameterSetName.StartsWith("Network", StringComparison.Ordinal)) return [AttachNetwork()];
        return ParameterSetName switch
        {
            TracepointSet => [TracepointLinks.Attach(program, Tracepoint!)],
            RawTracepointSet => [RawTracepointLinks.Attach(program, RawTracepoint!)],
            UprobeSet when program.ExpectedAttachType == Core.Kernel.BpfAttachType.TraceUprobeMulti =>
                [UprobeLinks.AttachMulti(program, Path!, Symbol ?? [], Pid, Return)],
            UprobeSet when Symbol is { Length: > 1 } => throw new LinkAttachException(program.Name, $"uprobe {Path}",
                "several -Symbol values need an uprobe.multi program (SEC(\"uprobe.multi\"))"),
            UprobeSet => [UprobeLinks.Attach(program, Path!, Symbol?.FirstOrDefault(), Offset, Pid, Return)],
            KprobeSet => [KprobeLinks.Attach(program, KernelFunction!, Offset, Return)],
            PerfEventSet => PerfEventLinks.AttachSoftware(program, PerfEvent, Frequency),
            IteratorSet => [IteratorLinks.Attach(program, Map)],
            _ => SectionLinks.Attach(program) is { } link
                ? [link]
                : throw new LinkAttachException(program.Name, $"section '{program.SectionName}'",
                    "the section names no target to attach to; name one (-Tracepoint, -Path/-Symbol, -PerfEvent, -Iterator...)"),
        };
    }

    private void AttachCollection(BpfCollection collection)
    {
        if (collection.IsDisposed)
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"Collection {collection.Name} was removed."),
                "CollectionRemoved", ErrorCategory.InvalidOperation, collection));
            return;
        }
        if (!ShouldProcess(collection.Name, "Attach every program whose section names a target")) return;
        var before = collection.Links.ToHashSet();
        if (LinkCommands.AttachSections(this, collection, removeOnFailure: false))
            foreach (var link in collection.Links.Where(l => !before.Contains(l))) WriteObject(link);
    }

    private string Plan(LoadedProgram program) => ParameterSetName switch
    {
        SectionSet => $"Attach where section '{program.SectionName}' says",
        TracepointSet => $"Attach to tracepoint {Tracepoint}",
        RawTracepointSet => $"Attach to raw tracepoint {RawTracepoint}",
        UprobeSet => $"Attach to {(Return ? "uretprobe" : "uprobe")} {Path}:{string.Join(",", Symbol ?? [])}{(Offset != 0 ? $"+0x{Offset:x}" : "")}",
        KprobeSet => $"Attach to {(Return ? "kretprobe" : "kprobe")} {KernelFunction}",
        PerfEventSet => $"Attach to {PerfEvent} at {Frequency} Hz on every CPU",
        IteratorSet => "Make an iterator link",
        _ => "Attach",
    };

    /// <summary>Gives the link to this runspace and to the collection that loaded <paramref name="program"/>.</summary>
    private static void Keep(BpfLink link, LoadedProgram program) => RunspaceLinks.Add(Runspace.DefaultRunspace, link, program);

    /// <summary>Implemented in NewBpfLinkCommand.Network.cs: attaches for the parameter sets named "Network...".</summary>
    private partial BpfLink AttachNetwork();
}
