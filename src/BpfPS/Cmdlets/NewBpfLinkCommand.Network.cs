using System.Management.Automation;
using System.Net.Sockets;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Cmdlets;

// The network attach parameter sets (XDP, tcx, tc, cgroup, sockops, sk_lookup, sockmap, netfilter, socket filters).
// Every such parameter set's name starts with "Network"; ProcessRecord sends them here.
public sealed partial class NewBpfLinkCommand
{
    private const string NetworkXdpSet = "NetworkXdp";
    private const string NetworkTcxSet = "NetworkTcx";
    private const string NetworkTcSet = "NetworkTc";
    private const string NetworkCgroupSet = "NetworkCgroup";
    private const string NetworkNamespaceSet = "NetworkNamespace";
    private const string NetworkSockMapSet = "NetworkSockMap";
    private const string NetworkNetfilterSet = "NetworkNetfilter";
    private const string NetworkSocketSet = "NetworkSocket";

    /// <summary>The network interface for XDP, tcx or tc (in this process's network namespace).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkXdpSet)]
    [Parameter(Mandatory = true, ParameterSetName = NetworkTcxSet)]
    [Parameter(Mandatory = true, ParameterSetName = NetworkTcSet)]
    [ValidateNotNullOrEmpty]
    public string? Interface { get; set; }

    /// <summary>XDP mode: Generic (SKB), Native (driver), Offload; by default the kernel chooses.</summary>
    [Parameter(ParameterSetName = NetworkXdpSet)]
    public XdpMode XdpMode { get; set; } = XdpMode.Default;

    /// <summary>Attach XDP through netlink (IFLA_XDP) instead of a kernel link.</summary>
    [Parameter(ParameterSetName = NetworkXdpSet)]
    [Alias("Legacy")]
    public SwitchParameter Netlink { get; set; }

    /// <summary>Attach as a tcx link on the interface's Ingress or Egress (Linux 6.6+).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkTcxSet)]
    public TcDirection Tcx { get; set; }

    /// <summary>Run before this program, link or kernel program id on the tcx hook.</summary>
    [Parameter(ParameterSetName = NetworkTcxSet)]
    public object? Before { get; set; }

    /// <summary>Run after this program, link or kernel program id on the tcx hook.</summary>
    [Parameter(ParameterSetName = NetworkTcxSet)]
    public object? After { get; set; }

    /// <summary>Attach only if the tcx hook is still at this revision.</summary>
    [Parameter(ParameterSetName = NetworkTcxSet)]
    public ulong ExpectedRevision { get; set; }

    /// <summary>Attach as a classic tc cls_bpf filter (clsact) on the interface's Ingress or Egress.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkTcSet)]
    public TcDirection TcClassic { get; set; }

    /// <summary>Classic tc: the filter priority (1-65535, lower runs first). Netfilter: the hook priority.</summary>
    [Parameter(ParameterSetName = NetworkTcSet)]
    [Parameter(ParameterSetName = NetworkNetfilterSet)]
    public int Priority { get; set; } = int.MinValue;

    /// <summary>Classic tc: the filter handle; by default the first free one at the priority.</summary>
    [Parameter(ParameterSetName = NetworkTcSet)]
    public uint Handle { get; set; }

    /// <summary>A cgroup v2 directory (on this machine under /sys/fs/cgroup/unified).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkCgroupSet)]
    [ValidateNotNullOrEmpty]
    public string? Cgroup { get; set; }

    /// <summary>The hook, when the program's section does not name it (cgroup, sockmap).</summary>
    [Parameter(ParameterSetName = NetworkCgroupSet)]
    [Parameter(ParameterSetName = NetworkSockMapSet)]
    public BpfAttachType? AttachType { get; set; }

    /// <summary>sk_lookup: the network namespace, as a path (/run/netns/NAME) or a process id.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkNamespaceSet)]
    [ValidateNotNullOrEmpty]
    public string? NetworkNamespace { get; set; }

    /// <summary>sk_msg / sk_skb: the sockmap or sockhash to attach to.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkSockMapSet)]
    public LoadedMap? SockMap { get; set; }

    /// <summary>Attach to a netfilter hook (with -Hook, -ProtocolFamily, -Priority).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkNetfilterSet)]
    public SwitchParameter Netfilter { get; set; }

    /// <summary>Netfilter: IPv4 (default) or IPv6.</summary>
    [Parameter(ParameterSetName = NetworkNetfilterSet)]
    public NetfilterProtocolFamily ProtocolFamily { get; set; } = NetfilterProtocolFamily.IPv4;

    /// <summary>Netfilter: the hook (PreRouting, LocalIn, Forward, LocalOut, PostRouting).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkNetfilterSet)]
    public NetfilterHook Hook { get; set; }

    /// <summary>A socket to filter with a socket_filter program (SO_ATTACH_BPF).</summary>
    [Parameter(Mandatory = true, ParameterSetName = NetworkSocketSet)]
    public Socket? Socket { get; set; }

    private partial BpfLink AttachNetwork()
    {
        var program = Program!;
        return ParameterSetName switch
        {
            NetworkXdpSet => XdpLinks.Attach(program, Interface!, XdpMode, Netlink.IsPresent),
            NetworkTcxSet => TcxLinks.Attach(program, Interface!, Tcx, TcxAnchor(program), ExpectedRevision),
            NetworkTcSet => TcClassicLink.Attach(program, Interface!, TcClassic, TcPriority(program), Handle),
            NetworkCgroupSet => CgroupLinks.Attach(program, SessionState.Path.GetUnresolvedProviderPathFromPSPath(Cgroup!), AttachType),
            NetworkNamespaceSet => SkLookupLinks.Attach(program, int.TryParse(NetworkNamespace, out int pid) ? $"/proc/{pid}/ns/net"
                : SessionState.Path.GetUnresolvedProviderPathFromPSPath(NetworkNamespace!)),
            NetworkSockMapSet => SockMapLinks.Attach(program, SockMap!, AttachType),
            NetworkNetfilterSet => NetfilterLinks.Attach(program, ProtocolFamily, Hook, Priority == int.MinValue ? 0 : Priority),
            NetworkSocketSet => SocketFilterLink.Attach(program, Socket!),
            _ => throw new NotSupportedException($"parameter set {ParameterSetName}"),
        };
    }

    private ushort TcPriority(LoadedProgram program)
    {
        if (Priority == int.MinValue) return 1;
        if (Priority is < 1 or > 65535)
            throw new LinkAttachException(program.Name, $"{Interface} (tc {TcClassic.ToString().ToLowerInvariant()})", $"tc filter priority {Priority} is not in 1..65535", Errno.EINVAL);
        return (ushort)Priority;
    }

    /// <summary>-Before/-After as a tcx position: a loaded program, a link, or a program id.</summary>
    private TcxPosition? TcxAnchor(LoadedProgram program)
    {
        if (Before is not null && After is not null)
            throw new ArgumentException("give -Before or -After, not both");
        object? anchor = Before ?? After;
        if (anchor is null) return null;
        bool before = Before is not null;
        return (anchor is PSObject ps ? ps.BaseObject : anchor) switch
        {
            LoadedProgram p => new TcxPosition { Before = before, Program = p },
            BpfLink l => new TcxPosition { Before = before, Link = l, IsLink = true },
            int or uint or long => new TcxPosition { Before = before, Id = Convert.ToUInt32(anchor is PSObject o ? o.BaseObject : anchor) },
            string s when uint.TryParse(s, out var id) => new TcxPosition { Before = before, Id = id },
            var other => throw new ArgumentException($"-{(before ? "Before" : "After")} takes a loaded program, a link or a program id, not {other?.GetType().Name}"),
        };
    }
}
