using BpfPS.Core.Kernel;

namespace BpfPS.Core.Links;

/// <summary>
/// One link as the kernel lists it (the role of `bpftool link show`): a snapshot, holding no descriptor, so listing
/// links never keeps one alive.
/// </summary>
public sealed record SystemLink
{
    /// <summary>The kernel's link id; 0 for attachments that have no kernel link (netlink, PROG_ATTACH).</summary>
    public uint Id { get; init; }
    public BpfLinkType Type { get; init; }
    /// <summary>bpftool's name of the type: "perf_event", "xdp", "tracing"...</summary>
    public string Kind { get; init; } = "";
    public uint ProgramId { get; init; }
    public string ProgramName { get; init; } = "";
    public BpfAttachType? AttachType { get; init; }
    /// <summary>The target spelled out: tracepoint, interface, cgroup path and attach type...</summary>
    public string Target { get; init; } = "";
    /// <summary>Everything the kernel said (null for attachments without a kernel link).</summary>
    public BpfLinkInfo? Info { get; init; }

    public override string ToString() => $"{Kind} link {Id}: {ProgramName} -> {Target}";

    /// <summary>Every kernel link (BPF_LINK_GET_NEXT_ID), skipping links that go away while listed.</summary>
    public static IEnumerable<SystemLink> List()
    {
        foreach (var id in BpfSyscall.LinkIds())
            if (TryGet(id) is { } link) yield return link;
    }

    /// <summary>The link with kernel id <paramref name="id"/>, or null when there is none (any more).</summary>
    public static SystemLink? TryGet(uint id)
    {
        BpfFd fd;
        try
        {
            fd = BpfSyscall.LinkGetFdById(id);
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT)
        {
            return null;
        }
        using (fd) return From(fd);
    }

    /// <summary>The link pinned at <paramref name="path"/>.</summary>
    /// <exception cref="BpfSyscallException">Nothing pinned there, or not a link.</exception>
    public static SystemLink FromPin(string path)
    {
        using var fd = BpfSyscall.ObjectGet(path);
        return From(fd);
    }

    /// <summary>A snapshot of the link behind <paramref name="fd"/>.</summary>
    public static SystemLink From(BpfFd fd)
    {
        var info = BpfSyscall.GetLinkInfo(fd);
        return new SystemLink
        {
            Id = info.Id,
            Type = info.Type,
            Kind = BpfLinkNames.Of(info.Type),
            ProgramId = info.ProgramId,
            ProgramName = NameOfProgram(info.ProgramId),
            AttachType = info.AttachType,
            Target = LinkTargets.Describe(info),
            Info = info,
        };
    }

    /// <summary>A snapshot of a link this process holds (kernel link or not).</summary>
    public static SystemLink From(BpfLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        if (link.Fd is { IsClosed: false } fd)
        {
            try
            {
                return From(fd) with { Target = link.Target };
            }
            catch (ObjectDisposedException) { }
        }
        return new SystemLink
        {
            Id = link.Id, Type = link.Type, Kind = link.Kind, ProgramId = link.ProgramId, ProgramName = link.ProgramName,
            AttachType = link.AttachType, Target = link.Target,
        };
    }

    private static string NameOfProgram(uint programId)
    {
        if (programId == 0) return "";
        try
        {
            using var prog = BpfSyscall.ProgramGetFdById(programId);
            return BpfSyscall.GetProgramInfo(prog).Name;
        }
        catch (BpfSyscallException)
        {
            return ""; // the program went away between the two calls
        }
    }
}
