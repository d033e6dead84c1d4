using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>
/// Classic tc: a cls_bpf filter (direct-action) on the clsact qdisc of an interface, made through netlink. The clsact
/// qdisc is added when missing; disposing removes exactly this filter (by priority and handle), and the qdisc too when
/// attachments of this process added it and no filter is left on it.
/// </summary>
public sealed class TcClassicLink : BpfLink
{
    /// <summary>The clsact qdiscs this process added, by network namespace and interface index: the last detach removes them.</summary>
    private static readonly HashSet<(string Namespace, int Ifindex)> s_createdQdiscs = [];
    private readonly NetlinkSocket _socket;
    private readonly string _namespace;

    private TcClassicLink(LoadedProgram program, string target, NetlinkSocket socket, int ifindex, string interfaceName,
        TcDirection direction, ushort priority, uint handle, string networkNamespace)
        : base(program, target, BpfLinkType.Unspec, null, null, 0)
    {
        _socket = socket;
        Ifindex = ifindex;
        InterfaceName = interfaceName;
        Direction = direction;
        Priority = priority;
        Handle = handle;
        _namespace = networkNamespace;
    }

    public int Ifindex { get; }
    public string InterfaceName { get; }
    public TcDirection Direction { get; }
    /// <summary>The filter's priority (tc "pref"): lower runs first.</summary>
    public ushort Priority { get; }
    /// <summary>The filter's handle within its priority.</summary>
    public uint Handle { get; }

    public override string Kind => "tc";

    /// <summary>
    /// Attaches <paramref name="program"/> as a cls_bpf filter on <paramref name="interfaceName"/> (calling thread's
    /// network namespace). <paramref name="handle"/> 0 picks the first free handle at <paramref name="priority"/>.
    /// </summary>
    /// <exception cref="LinkAttachException">No such interface, priority/handle taken (EEXIST), wrong program type...</exception>
    public static TcClassicLink Attach(LoadedProgram program, string interfaceName, TcDirection direction, ushort priority = 1, uint handle = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        string target = Describe(interfaceName, direction, priority, handle);
        if (program.Type is not (BpfProgramType.SchedCls or BpfProgramType.SchedAct))
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; tc needs a tc (sched_cls) program", Errno.EINVAL);
        if (priority == 0)
            throw new LinkAttachException(program.Name, target, "tc filter priority must be 1..65535", Errno.EINVAL);

        var socket = NetlinkSocket.OpenRoute();
        string networkNamespace = CurrentNetworkNamespace();
        bool createdQdisc = false;
        int ifindex = 0;
        try
        {
            ifindex = NetlinkInterfaces.Find(socket, interfaceName)?.Index
                ?? throw new LinkAttachException(program.Name, target, $"no network interface '{interfaceName}' in this network namespace", 19);
            createdQdisc = NetlinkTc.AddClsact(socket, ifindex);
            if (createdQdisc)
                lock (s_createdQdiscs) s_createdQdiscs.Add((networkNamespace, ifindex));
            if (handle == 0)
            {
                var used = NetlinkTc.ListBpfFilters(socket, ifindex, direction).Where(f => f.Priority == priority).Select(f => f.Handle).ToHashSet();
                handle = 1;
                while (used.Contains(handle)) handle++;
            }
            target = Describe(interfaceName, direction, priority, handle);
            NetlinkTc.AddBpfFilter(socket, ifindex, direction, priority, handle, program.Fd, program.Name);
            return new TcClassicLink(program, target, socket, ifindex, interfaceName, direction, priority, handle, networkNamespace);
        }
        catch (Exception e) when (e is NetlinkException or ObjectDisposedException or LinkAttachException)
        {
            if (createdQdisc)
            {
                lock (s_createdQdiscs) s_createdQdiscs.Remove((networkNamespace, ifindex));
                TryDeleteQdisc(socket, ifindex);
            }
            socket.Dispose();
            if (e is LinkAttachException) throw;
            if (e is ObjectDisposedException) throw new LinkAttachException(program.Name, target, "the program was unloaded (its collection was removed)", 0, e);
            var n = (NetlinkException)e;
            string cause = n.ErrorNumber == Errno.EEXIST ? $"a filter already has priority {priority} handle {handle} there (EEXIST)" : n.Message;
            throw new LinkAttachException(program.Name, target, cause, n.ErrorNumber, e);
        }
    }

    /// <summary>The cls_bpf filters on one hook of <paramref name="ifindex"/> (calling thread's namespace).</summary>
    public static IReadOnlyList<TcBpfFilter> List(int ifindex, TcDirection direction)
    {
        using var socket = NetlinkSocket.OpenRoute();
        return NetlinkTc.ListBpfFilters(socket, ifindex, direction);
    }

    protected override void Detach()
    {
        try
        {
            NetlinkTc.DeleteBpfFilter(_socket, Ifindex, Direction, Priority, Handle);
            lock (s_createdQdiscs)
            {
                if (s_createdQdiscs.Contains((_namespace, Ifindex))
                    && NetlinkTc.ListBpfFilters(_socket, Ifindex, TcDirection.Ingress).Count == 0
                    && NetlinkTc.ListBpfFilters(_socket, Ifindex, TcDirection.Egress).Count == 0)
                {
                    s_createdQdiscs.Remove((_namespace, Ifindex));
                    TryDeleteQdisc(_socket, Ifindex);
                }
            }
        }
        catch (NetlinkException) { }   // the interface (or qdisc) is gone, and our filter with it
        finally
        {
            _socket.Dispose();
        }
    }

    /// <summary>The calling thread's network namespace as "net:[inode]", which tells namespaces apart.</summary>
    private static string CurrentNetworkNamespace()
    {
        try
        {
            return new FileInfo("/proc/thread-self/ns/net").LinkTarget ?? "";
        }
        catch (IOException)
        {
            return "";
        }
    }

    private static void TryDeleteQdisc(NetlinkSocket socket, int ifindex)
    {
        try { NetlinkTc.DeleteClsact(socket, ifindex); }
        catch (NetlinkException) { }
    }

    private static string Describe(string interfaceName, TcDirection direction, ushort priority, uint handle) =>
        $"{interfaceName} (tc {direction.ToString().ToLowerInvariant()}, priority {priority}{(handle == 0 ? "" : $", handle {handle}")})";
}
