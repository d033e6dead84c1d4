using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>
/// Where a tcx program goes among the others on the same hook (the 6.6 multi-program API): before or after a program
/// or a link, or (no anchor) last. Give a loaded program, a link, or a kernel id with <see cref="IsLink"/> saying which.
/// </summary>
public sealed record TcxPosition
{
    /// <summary>True: run before the anchor; false: after it.</summary>
    public bool Before { get; init; }
    public LoadedProgram? Program { get; init; }
    public BpfLink? Link { get; init; }
    /// <summary>An anchor given by kernel id (a program id, or a link id when <see cref="IsLink"/>).</summary>
    public uint Id { get; init; }
    public bool IsLink { get; init; }

    public static TcxPosition BeforeProgram(LoadedProgram program) => new() { Before = true, Program = program };
    public static TcxPosition AfterProgram(LoadedProgram program) => new() { Program = program };
    public static TcxPosition BeforeLink(BpfLink link) => new() { Before = true, Link = link, IsLink = true };
    public static TcxPosition AfterLink(BpfLink link) => new() { Link = link, IsLink = true };

    public override string ToString()
    {
        string anchor = Program is not null ? $"program '{Program.Name}'" : Link is not null ? $"link {Link.Id}" : IsLink ? $"link id {Id}" : $"program id {Id}";
        return (Before ? "before " : "after ") + anchor;
    }
}

/// <summary>tcx: programs on an interface's ingress or egress, ordered, each held by a kernel link (Linux 6.6+).</summary>
public static class TcxLinks
{
    /// <summary>
    /// Attaches <paramref name="program"/> (a sched_cls program) to the ingress or egress of interface
    /// <paramref name="interfaceName"/> in the calling thread's network namespace.
    /// </summary>
    /// <param name="program">A tc (sched_cls) program.</param>
    /// <param name="interfaceName">The interface, in the calling thread's network namespace.</param>
    /// <param name="direction">Ingress or egress.</param>
    /// <param name="position">Before/after another program or link; null appends at the end.</param>
    /// <param name="expectedRevision">Non-zero: attach only if the hook's revision (see <see cref="Query"/>) is still this.</param>
    /// <exception cref="LinkAttachException">No such interface, anchor not attached there (ENOENT), revision changed (ESTALE), no tcx in this kernel...</exception>
    public static KernelLink Attach(LoadedProgram program, string interfaceName, TcDirection direction, TcxPosition? position = null, ulong expectedRevision = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        string target = Describe(interfaceName, direction, position);
        int ifindex = XdpLinks.InterfaceIndex(program, interfaceName, target);
        return Attach(program, ifindex, interfaceName, direction, position, expectedRevision);
    }

    /// <summary>As <see cref="Attach(LoadedProgram, string, TcDirection, TcxPosition?, ulong)"/> for an interface index.</summary>
    public static KernelLink Attach(LoadedProgram program, int ifindex, string interfaceName, TcDirection direction, TcxPosition? position = null, ulong expectedRevision = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        string target = Describe(interfaceName, direction, position);
        if (program.Type is not (BpfProgramType.SchedCls or BpfProgramType.SchedAct))
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; tcx needs a tc (sched_cls) program", Errno.EINVAL);

        uint flags = 0, relative = 0;
        BpfFd? anchorFd = null;
        if (position is not null)
        {
            flags |= (uint)(position.Before ? BpfAttachFlags.Before : BpfAttachFlags.After);
            if (position.IsLink) flags |= (uint)BpfAttachFlags.Link;
            anchorFd = position.Program?.Fd ?? position.Link?.Fd;
            if (position.Link is not null && position.Link.Fd is null)
                throw new LinkAttachException(program.Name, target, $"the anchor {position.Link} is not a kernel link", Errno.EINVAL);
            if (anchorFd is null)
            {
                if (position.Id == 0) throw new ArgumentException("a tcx position needs a program, a link or an id", nameof(position));
                flags |= (uint)BpfAttachFlags.Id;
                relative = position.Id;
            }
        }
        var attachType = direction == TcDirection.Ingress ? BpfAttachType.TcxIngress : BpfAttachType.TcxEgress;
        FdLease anchor = anchorFd is null ? default : anchorFd.Lease();
        try
        {
            if (anchorFd is not null) relative = (uint)anchor.Value;
            return KernelLink.Create(program, ifindex, attachType, target, (ref LinkCreateAttr attr) =>
            {
                attr.TcxRelativeFdOrId = relative;
                attr.TcxExpectedRevision = expectedRevision;
            }, flags);
        }
        catch (LinkAttachException e) when (e.ErrorNumber == Errno.EINVAL && !HasTcx())
        {
            throw new LinkAttachException(program.Name, target, "this kernel has no tcx (Linux 6.6+); use classic tc (clsact) instead", e.ErrorNumber, e);
        }
        catch (LinkAttachException e) when (e.ErrorNumber == 116 /* ESTALE */)
        {
            throw new LinkAttachException(program.Name, target, $"the hook changed since revision {expectedRevision} (ESTALE)", e.ErrorNumber, e);
        }
        finally
        {
            anchor.Dispose();
        }
    }

    /// <summary>The programs and links on the hook, in the order they run, and its revision (BPF_PROG_QUERY).</summary>
    public static BpfProgQueryResult Query(int ifindex, TcDirection direction) =>
        BpfSyscall.ProgQuery(ifindex, direction == TcDirection.Ingress ? BpfAttachType.TcxIngress : BpfAttachType.TcxEgress);

    internal static string Describe(string interfaceName, TcDirection direction, TcxPosition? position) =>
        $"{interfaceName} (tcx {direction.ToString().ToLowerInvariant()}{(position is null ? "" : ", " + position)})";

    /// <summary>Whether BPF_PROG_QUERY knows the tcx attach type (on loopback, which every namespace has).</summary>
    private static bool HasTcx()
    {
        try
        {
            BpfSyscall.ProgQuery(1, BpfAttachType.TcxIngress);
            return true;
        }
        catch (BpfSyscallException e)
        {
            return e.ErrorNumber != Errno.EINVAL;
        }
    }
}
