using System.Text;

namespace BpfPS.Core.Kernel;

// Attach commands: links (create, update, detach, by id, info), the older PROG_ATTACH/DETACH/QUERY, raw tracepoints
// and iterators.
public static unsafe partial class BpfSyscall
{
    /// <summary>BPF_LINK_CREATE with a filled attr (the caller pins whatever the union's pointers point at).</summary>
    internal static BpfFd LinkCreate(ref LinkCreateAttr attr, string? detail = null) =>
        Own(InvokeChecked(BpfCommand.LinkCreate, ref attr, detail));

    /// <summary>
    /// BPF_LINK_UPDATE: puts <paramref name="newProgram"/> behind <paramref name="link"/> atomically. With
    /// <paramref name="oldProgram"/> the kernel replaces only if that program is still the one attached (BPF_F_REPLACE).
    /// </summary>
    public static void LinkUpdate(BpfFd link, BpfFd newProgram, BpfFd? oldProgram = null, BpfAttachFlags flags = BpfAttachFlags.None)
    {
        using var l = link.Lease();
        using var n = newProgram.Lease();
        var attr = new LinkUpdateAttr { LinkFd = (uint)l.Value, NewProgFd = (uint)n.Value, Flags = (uint)flags };
        if (oldProgram is null)
        {
            InvokeChecked(BpfCommand.LinkUpdate, ref attr);
            return;
        }
        using var o = oldProgram.Lease();
        attr.OldProgFd = (uint)o.Value;
        attr.Flags |= (uint)BpfAttachFlags.Replace;
        InvokeChecked(BpfCommand.LinkUpdate, ref attr);
    }

    /// <summary>BPF_LINK_DETACH: detaches the link from its hook although descriptors (or pins) still hold it.</summary>
    public static void LinkDetach(BpfFd link)
    {
        using var l = link.Lease();
        var attr = new LinkDetachAttr { LinkFd = (uint)l.Value };
        InvokeChecked(BpfCommand.LinkDetach, ref attr);
    }

    /// <summary>
    /// BPF_PROG_ATTACH: the pre-link attach (cgroups, sockmaps, flow dissector, tcx without a link...). The attachment
    /// lives on in the kernel until <see cref="ProgDetach"/>: the caller must track and undo it.
    /// </summary>
    /// <param name="targetFdOrIfindex">A cgroup, netns or map descriptor, or an interface index (tcx).</param>
    /// <param name="replace">With <see cref="BpfAttachFlags.Replace"/>: the program to replace.</param>
    /// <param name="relativeFdOrId">With Before/After: the program or link to order against (fd, or id with <see cref="BpfAttachFlags.Id"/>).</param>
    /// <param name="program">The program to attach.</param>
    /// <param name="attachType">The hook at the target.</param>
    /// <param name="flags">Override/multi (cgroups), replace, before/after.</param>
    /// <param name="expectedRevision">Non-zero: attach only if the hook is still at this revision (6.6 multi-program API).</param>
    public static void ProgAttach(int targetFdOrIfindex, BpfFd program, BpfAttachType attachType, BpfAttachFlags flags = BpfAttachFlags.None,
        BpfFd? replace = null, uint relativeFdOrId = 0, ulong expectedRevision = 0)
    {
        using var p = program.Lease();
        var attr = new ProgAttachAttr
        {
            TargetFd = (uint)targetFdOrIfindex, AttachBpfFd = (uint)p.Value, AttachType = (uint)attachType, AttachFlags = (uint)flags,
            RelativeFdOrId = relativeFdOrId, ExpectedRevision = expectedRevision,
        };
        if (replace is null)
        {
            InvokeChecked(BpfCommand.ProgAttach, ref attr);
            return;
        }
        using var r = replace.Lease();
        attr.ReplaceBpfFd = (uint)r.Value;
        InvokeChecked(BpfCommand.ProgAttach, ref attr);
    }

    /// <summary>BPF_PROG_DETACH. <paramref name="program"/> null detaches whatever single program is there (older attach types).</summary>
    public static void ProgDetach(int targetFdOrIfindex, BpfFd? program, BpfAttachType attachType, BpfAttachFlags flags = BpfAttachFlags.None,
        uint relativeFdOrId = 0, ulong expectedRevision = 0)
    {
        var attr = new ProgAttachAttr
        {
            TargetFd = (uint)targetFdOrIfindex, AttachType = (uint)attachType, AttachFlags = (uint)flags,
            RelativeFdOrId = relativeFdOrId, ExpectedRevision = expectedRevision,
        };
        if (program is null)
        {
            InvokeChecked(BpfCommand.ProgDetach, ref attr);
            return;
        }
        using var p = program.Lease();
        attr.AttachBpfFd = (uint)p.Value;
        InvokeChecked(BpfCommand.ProgDetach, ref attr);
    }

    /// <summary>
    /// BPF_PROG_QUERY: the programs (and, on 6.6+ kernels, links) attached at a hook, in run order.
    /// </summary>
    /// <param name="targetFdOrIfindex">A cgroup, netns or map descriptor, or an interface index.</param>
    /// <param name="attachType">The hook at the target.</param>
    /// <param name="queryFlags">BPF_F_QUERY_EFFECTIVE (1) for the programs that run, inherited ones included (cgroups).</param>
    public static BpfProgQueryResult ProgQuery(int targetFdOrIfindex, BpfAttachType attachType, uint queryFlags = 0)
    {
        var attr = new ProgQueryAttr { TargetFd = (uint)targetFdOrIfindex, AttachType = (uint)attachType, QueryFlags = queryFlags };
        InvokeChecked(BpfCommand.ProgQuery, ref attr);
        uint count = attr.ProgCount;
        ulong revision = attr.Revision;
        uint attachFlags = attr.AttachFlags;
        if (count == 0) return new BpfProgQueryResult(attachFlags, [], [], revision);

        var programs = new uint[count];
        var links = new uint[count];
        fixed (uint* p = programs)
        fixed (uint* l = links)
        {
            attr = new ProgQueryAttr
            {
                TargetFd = (uint)targetFdOrIfindex, AttachType = (uint)attachType, QueryFlags = queryFlags,
                ProgIds = Address(p), ProgCount = count, LinkIds = Address(l),
            };
            int result = Invoke(BpfCommand.ProgQuery, ref attr, out int errno);
            if (result < 0 && errno == Errno.EINVAL)
            {
                // Kernels before 6.6 know no link_ids and refuse a request that sets it.
                links = [];
                attr = new ProgQueryAttr
                {
                    TargetFd = (uint)targetFdOrIfindex, AttachType = (uint)attachType, QueryFlags = queryFlags,
                    ProgIds = Address(p), ProgCount = count,
                };
                result = Invoke(BpfCommand.ProgQuery, ref attr, out errno);
            }
            if (result < 0) throw new BpfSyscallException(BpfCommand.ProgQuery, errno);
        }
        int n = (int)Math.Min(count, attr.ProgCount);
        return new BpfProgQueryResult(attr.AttachFlags, programs[..n], links.Length == 0 ? [] : links[..n], attr.Revision);
    }

    /// <summary>
    /// BPF_RAW_TRACEPOINT_OPEN: attaches a raw_tp program to tracepoint <paramref name="name"/>, or (name null) a
    /// tp_btf/fentry/fexit/lsm program to the target its load named. Returns the link descriptor.
    /// </summary>
    public static BpfFd RawTracepointOpen(string? name, BpfFd program)
    {
        using var p = program.Lease();
        fixed (byte* n = name is null ? null : NulTerminated(name))
        {
            var attr = new RawTracepointOpenAttr { Name = name is null ? 0 : Address(n), ProgFd = (uint)p.Value };
            return Own(InvokeChecked(BpfCommand.RawTracepointOpen, ref attr, name));
        }
    }

    /// <summary>BPF_ITER_CREATE: a new readable file that runs the iterator program behind <paramref name="link"/> as it is read.</summary>
    public static BpfFd IterCreate(BpfFd link)
    {
        using var l = link.Lease();
        var attr = new IterCreateAttr { LinkFd = (uint)l.Value };
        return Own(InvokeChecked(BpfCommand.IterCreate, ref attr));
    }

    /// <summary>Ids of every link (BPF_LINK_GET_NEXT_ID), in increasing order.</summary>
    public static IEnumerable<uint> LinkIds() => Ids(BpfCommand.LinkGetNextId);

    /// <summary>The link id after <paramref name="startId"/>, or null at the end.</summary>
    public static uint? LinkGetNextId(uint startId) => NextId(BpfCommand.LinkGetNextId, startId);

    /// <summary>BPF_LINK_GET_FD_BY_ID.</summary>
    public static BpfFd LinkGetFdById(uint id) => FdById(BpfCommand.LinkGetFdById, id, 0);

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a link: its type, ids and per-type target (names included).</summary>
    public static BpfLinkInfo GetLinkInfo(BpfFd link)
    {
        using var lease = link.Lease();
        var info = new LinkInfoWire();
        GetInfo(lease.Value, &info, sizeof(LinkInfoWire));
        var type = (BpfLinkType)info.Type;

        // A second call with a buffer for the one name the type carries.
        const int NameRoom = 4096;
        byte* name = stackalloc byte[NameRoom];
        new Span<byte>(name, NameRoom).Clear();
        string? text = null;
        var named = new LinkInfoWire();
        switch (type)
        {
            case BpfLinkType.RawTracepoint:
                named.RawTracepointName = Address(name);
                named.RawTracepointNameLength = NameRoom;
                break;
            case BpfLinkType.Iter:
                named.IterTargetName = Address(name);
                named.IterTargetNameLength = NameRoom;
                break;
            case BpfLinkType.PerfEvent when (BpfPerfEventType)info.PerfEventType != BpfPerfEventType.Event:
                named.PerfEventName = Address(name);
                named.PerfEventNameLength = NameRoom;
                break;
            case BpfLinkType.UprobeMulti:
                named.UprobeMultiPath = Address(name);
                named.UprobeMultiPathSize = NameRoom;
                break;
            default:
                named.Type = uint.MaxValue;
                break;
        }
        if (named.Type != uint.MaxValue)
        {
            var attr = new InfoAttr { BpfFd = (uint)lease.Value, InfoLen = (uint)sizeof(LinkInfoWire), Info = Address(&named) };
            // The name is a courtesy: a kernel that cannot give it still gave everything else.
            if (Invoke(BpfCommand.ObjGetInfoByFd, ref attr, out _) >= 0)
            {
                var span = new ReadOnlySpan<byte>(name, NameRoom);
                int end = span.IndexOf((byte)0);
                text = Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
                info = named;
            }
        }

        return new BpfLinkInfo
        {
            Type = type,
            Id = info.Id,
            ProgramId = info.ProgId,
            Name = text,
            AttachType = type switch
            {
                BpfLinkType.Tracing => (BpfAttachType)info.TracingAttachType,
                BpfLinkType.Cgroup => (BpfAttachType)info.CgroupAttachType,
                BpfLinkType.Netns => (BpfAttachType)info.NetnsAttachType,
                BpfLinkType.Tcx or BpfLinkType.Netkit or BpfLinkType.Sockmap => (BpfAttachType)info.TcxAttachType,
                BpfLinkType.Xdp => BpfAttachType.Xdp,
                BpfLinkType.Iter => BpfAttachType.TraceIter,
                BpfLinkType.RawTracepoint => BpfAttachType.TraceRawTp,
                BpfLinkType.PerfEvent => BpfAttachType.PerfEvent,
                BpfLinkType.Netfilter => BpfAttachType.Netfilter,
                BpfLinkType.UprobeMulti => BpfAttachType.TraceUprobeMulti,
                BpfLinkType.KprobeMulti => BpfAttachType.TraceKprobeMulti,
                BpfLinkType.StructOps => BpfAttachType.StructOps,
                _ => null,
            },
            TargetObjectId = type == BpfLinkType.Tracing ? info.TracingTargetObjectId : 0,
            TargetBtfId = type == BpfLinkType.Tracing ? info.TracingTargetBtfId : 0,
            CgroupId = type == BpfLinkType.Cgroup ? info.CgroupId : type == BpfLinkType.Iter ? info.IterCgroupId : 0,
            MapId = type switch
            {
                BpfLinkType.Iter => info.IterMapId,
                BpfLinkType.StructOps => info.StructOpsMapId,
                BpfLinkType.Sockmap => info.SockmapMapId,
                _ => 0,
            },
            NetnsInode = type == BpfLinkType.Netns ? info.NetnsIno : 0,
            IfIndex = type switch
            {
                BpfLinkType.Xdp => info.XdpIfIndex,
                BpfLinkType.Tcx or BpfLinkType.Netkit => info.TcxIfIndex,
                _ => 0,
            },
            NetfilterProtocolFamily = type == BpfLinkType.Netfilter ? info.NetfilterProtocolFamily : 0,
            NetfilterHook = type == BpfLinkType.Netfilter ? info.NetfilterHook : 0,
            NetfilterPriority = type == BpfLinkType.Netfilter ? info.NetfilterPriority : 0,
            NetfilterFlags = type == BpfLinkType.Netfilter ? info.NetfilterFlags : 0,
            PerfEventType = type == BpfLinkType.PerfEvent ? (BpfPerfEventType)info.PerfEventType : BpfPerfEventType.Unspec,
            Offset = type == BpfLinkType.PerfEvent ? info.PerfEventOffset : 0,
            PerfEventConfig = type == BpfLinkType.PerfEvent && (BpfPerfEventType)info.PerfEventType == BpfPerfEventType.Event ? info.PerfEventConfig : 0,
            PerfEventEventType = type == BpfLinkType.PerfEvent && (BpfPerfEventType)info.PerfEventType == BpfPerfEventType.Event ? info.PerfEventEventType : 0,
            ProbeCount = type switch
            {
                BpfLinkType.UprobeMulti => info.UprobeMultiCount,
                BpfLinkType.KprobeMulti => info.KprobeMultiCount,
                _ => 0,
            },
            Pid = type switch
            {
                BpfLinkType.UprobeMulti => info.UprobeMultiPid,
                BpfLinkType.Iter => info.IterTaskPid,
                _ => 0,
            },
        };
    }
}

/// <summary>What BPF_PROG_QUERY reports for one hook.</summary>
/// <param name="AttachFlags">The hook's attach flags (cgroups: override/multi).</param>
/// <param name="ProgramIds">Programs in run order.</param>
/// <param name="LinkIds">For each program, the link holding it (0 for PROG_ATTACH attachments); empty before 6.6.</param>
/// <param name="Revision">The hook's revision (6.6 multi-program API), for expected_revision.</param>
public sealed record BpfProgQueryResult(uint AttachFlags, uint[] ProgramIds, uint[] LinkIds, ulong Revision);

/// <summary>What the kernel reports about a link (struct bpf_link_info). Fields not used by a type are 0/null.</summary>
public sealed record BpfLinkInfo
{
    public BpfLinkType Type { get; init; }
    public uint Id { get; init; }
    public uint ProgramId { get; init; }
    /// <summary>The link's name: raw tracepoint, iterator target, perf event's tracepoint/function/file, uprobe_multi path.</summary>
    public string? Name { get; init; }
    public BpfAttachType? AttachType { get; init; }
    /// <summary>tracing: the BTF object id (or the program id for freplace) of the target.</summary>
    public uint TargetObjectId { get; init; }
    public uint TargetBtfId { get; init; }
    /// <summary>cgroup links and cgroup iterators: the cgroup's id (its inode number on cgroup v2).</summary>
    public ulong CgroupId { get; init; }
    /// <summary>iter over a map, struct_ops, sockmap: the map's id.</summary>
    public uint MapId { get; init; }
    public uint NetnsInode { get; init; }
    public uint IfIndex { get; init; }
    public uint NetfilterProtocolFamily { get; init; }
    public uint NetfilterHook { get; init; }
    public int NetfilterPriority { get; init; }
    public uint NetfilterFlags { get; init; }
    public BpfPerfEventType PerfEventType { get; init; }
    /// <summary>uprobe/kprobe perf event: the offset from the file or function.</summary>
    public uint Offset { get; init; }
    /// <summary>Generic perf event (software/hardware): perf_event_attr.config and .type.</summary>
    public ulong PerfEventConfig { get; init; }
    public uint PerfEventEventType { get; init; }
    /// <summary>uprobe_multi/kprobe_multi: how many probes.</summary>
    public uint ProbeCount { get; init; }
    /// <summary>uprobe_multi and task iterators: the process the link is limited to (0: all).</summary>
    public uint Pid { get; init; }
}
