using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfLink: the links in the kernel (what `bpftool link show` lists): id, type, program and the target spelled
/// out. Every link, by id, from a pin, or those of a program or a collection (including this session's attachments
/// that have no kernel link).
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfLink", DefaultParameterSetName = AllSet)]
[OutputType(typeof(SystemLink))]
public sealed class GetBpfLinkCommand : PSCmdlet
{
    private const string AllSet = "All", PathSet = "Path", ProgramSet = "Program", CollectionSet = "Collection";

    /// <summary>Kernel link ids.</summary>
    [Parameter(Position = 0, ParameterSetName = AllSet)]
    public uint[]? Id { get; set; }

    /// <summary>Paths of pinned links on a bpffs.</summary>
    [Parameter(Mandatory = true, ParameterSetName = PathSet)]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Links of these loaded programs.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ProgramSet, ValueFromPipeline = true)]
    public LoadedProgram[]? Program { get; set; }

    /// <summary>Links of this collection's programs.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet, ValueFromPipeline = true)]
    public BpfCollection[]? Collection { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            switch (ParameterSetName)
            {
                case PathSet:
                    foreach (var path in Path!) FromPin(path);
                    break;
                case ProgramSet:
                    WriteLinksOf(Program!);
                    break;
                case CollectionSet:
                    WriteLinksOf(Collection!.SelectMany(c => c.Programs.Values).ToArray());
                    break;
                default:
                    if (Id is null)
                        foreach (var link in SystemLink.List()) WriteObject(link);
                    else
                        foreach (var id in Id) ById(id);
                    break;
            }
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, null));
        }
    }

    private void ById(uint id)
    {
        if (SystemLink.TryGet(id) is { } link) WriteObject(link);
        else WriteError(new ErrorRecord(new ItemNotFoundException($"No link has id {id}."), "LinkNotFound", ErrorCategory.ObjectNotFound, id));
    }

    private void FromPin(string path)
    {
        var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
        try
        {
            WriteObject(SystemLink.FromPin(full));
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT)
        {
            WriteError(ErrorRecords.PathNotFound(full, e));
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.EINVAL)
        {
            WriteError(new ErrorRecord(new ArgumentException($"{full} does not hold a link.", e), "NotALink", ErrorCategory.InvalidArgument, full));
        }
    }

    private void WriteLinksOf(IReadOnlyCollection<LoadedProgram> programs)
    {
        var ids = programs.Where(p => !p.Fd.IsClosed).Select(p => p.Id).ToHashSet();
        // This session's own links know their target in full (the kernel names a tracepoint without its category).
        var mine = RunspaceLinks.List(Runspace.DefaultRunspace).Where(l => l.Id != 0).GroupBy(l => l.Id).ToDictionary(g => g.Key, g => g.First());
        foreach (var link in SystemLink.List())
            if (ids.Contains(link.ProgramId)) WriteObject(mine.TryGetValue(link.Id, out var own) ? link with { Target = own.Target } : link);
        // Attachments without a kernel link (netlink, PROG_ATTACH) are known only to the session that made them.
        foreach (var link in RunspaceLinks.List(Runspace.DefaultRunspace))
            if (link.Id == 0 && link.Program is { } p && programs.Contains(p)) WriteObject(SystemLink.From(link));
    }
}
