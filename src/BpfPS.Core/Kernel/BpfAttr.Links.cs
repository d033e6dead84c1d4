using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

// Wire layouts of the union bpf_attr members that attach programs, and of struct bpf_link_info. Offsets follow a
// current uapi/linux/bpf.h (6.8+); the members the installed 6.1 header also has are checked against the C compiler by
// tests/BpfPS.Core.Tests/Kernel/AttrLayoutTests.cs. Every struct is as large as the union, so unset fields are zero.

/// <summary>BPF_LINK_CREATE with its whole per-mechanism union (starting at offset 16).</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct LinkCreateAttr
{
    /// <summary>prog_fd, or map_fd for struct_ops links.</summary>
    [FieldOffset(0)] public uint ProgFd;
    /// <summary>target_fd (cgroup, netns, map...) or target_ifindex (XDP, tcx, netkit).</summary>
    [FieldOffset(4)] public uint TargetFd;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint Flags;

    /// <summary>target_btf_id (freplace, tracing programs).</summary>
    [FieldOffset(16)] public uint TargetBtfId;

    /// <summary>iter_info: pointer to union bpf_iter_link_info.</summary>
    [FieldOffset(16)] public ulong IterInfo;
    [FieldOffset(24)] public uint IterInfoLength;

    /// <summary>perf_event.bpf_cookie.</summary>
    [FieldOffset(16)] public ulong PerfEventCookie;

    [FieldOffset(16)] public uint KprobeMultiFlags;
    [FieldOffset(20)] public uint KprobeMultiCount;
    [FieldOffset(24)] public ulong KprobeMultiSymbols;
    [FieldOffset(32)] public ulong KprobeMultiAddresses;
    [FieldOffset(40)] public ulong KprobeMultiCookies;

    /// <summary>tracing.target_btf_id (same slot as <see cref="TargetBtfId"/>).</summary>
    [FieldOffset(16)] public uint TracingTargetBtfId;
    [FieldOffset(24)] public ulong TracingCookie;

    [FieldOffset(16)] public uint NetfilterProtocolFamily;
    [FieldOffset(20)] public uint NetfilterHook;
    [FieldOffset(24)] public int NetfilterPriority;
    [FieldOffset(28)] public uint NetfilterFlags;

    /// <summary>tcx.relative_fd or tcx.relative_id (BPF_F_ID in Flags says which).</summary>
    [FieldOffset(16)] public uint TcxRelativeFdOrId;
    [FieldOffset(24)] public ulong TcxExpectedRevision;

    [FieldOffset(16)] public ulong UprobeMultiPath;
    [FieldOffset(24)] public ulong UprobeMultiOffsets;
    [FieldOffset(32)] public ulong UprobeMultiRefCtrOffsets;
    [FieldOffset(40)] public ulong UprobeMultiCookies;
    [FieldOffset(48)] public uint UprobeMultiCount;
    [FieldOffset(52)] public uint UprobeMultiFlags;
    [FieldOffset(56)] public uint UprobeMultiPid;

    /// <summary>netkit.relative_fd or netkit.relative_id.</summary>
    [FieldOffset(16)] public uint NetkitRelativeFdOrId;
    [FieldOffset(24)] public ulong NetkitExpectedRevision;
}

/// <summary>union bpf_iter_link_info (the struct iter_info points at).</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
internal struct IterLinkInfo
{
    /// <summary>map.map_fd, for iter/bpf_map_elem and friends.</summary>
    [FieldOffset(0)] public uint MapFd;
    /// <summary>cgroup.order (enum bpf_cgroup_iter_order).</summary>
    [FieldOffset(0)] public uint CgroupOrder;
    [FieldOffset(4)] public uint CgroupFd;
    [FieldOffset(8)] public ulong CgroupId;
    /// <summary>task.tid / task.pid / task.pid_fd: at most one set.</summary>
    [FieldOffset(0)] public uint TaskTid;
    [FieldOffset(4)] public uint TaskPid;
    [FieldOffset(8)] public uint TaskPidFd;
}

/// <summary>BPF_LINK_UPDATE.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct LinkUpdateAttr
{
    [FieldOffset(0)] public uint LinkFd;
    /// <summary>new_prog_fd, or new_map_fd for struct_ops links.</summary>
    [FieldOffset(4)] public uint NewProgFd;
    [FieldOffset(8)] public uint Flags;
    /// <summary>old_prog_fd (or old_map_fd), read only with BPF_F_REPLACE.</summary>
    [FieldOffset(12)] public uint OldProgFd;
}

/// <summary>BPF_LINK_DETACH, and the link_fd of BPF_ITER_CREATE.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct LinkDetachAttr
{
    [FieldOffset(0)] public uint LinkFd;
}

/// <summary>BPF_ITER_CREATE.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct IterCreateAttr
{
    [FieldOffset(0)] public uint LinkFd;
    [FieldOffset(4)] public uint Flags;
}

/// <summary>BPF_PROG_ATTACH / BPF_PROG_DETACH, with the multi-program fields of 6.6.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct ProgAttachAttr
{
    /// <summary>target_fd or target_ifindex.</summary>
    [FieldOffset(0)] public uint TargetFd;
    [FieldOffset(4)] public uint AttachBpfFd;
    [FieldOffset(8)] public uint AttachType;
    [FieldOffset(12)] public uint AttachFlags;
    [FieldOffset(16)] public uint ReplaceBpfFd;
    /// <summary>relative_fd or relative_id (BPF_F_ID in AttachFlags says which).</summary>
    [FieldOffset(20)] public uint RelativeFdOrId;
    [FieldOffset(24)] public ulong ExpectedRevision;
}

/// <summary>BPF_PROG_QUERY.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct ProgQueryAttr
{
    [FieldOffset(0)] public uint TargetFd;
    [FieldOffset(4)] public uint AttachType;
    [FieldOffset(8)] public uint QueryFlags;
    [FieldOffset(12)] public uint AttachFlags;
    [FieldOffset(16)] public ulong ProgIds;
    /// <summary>prog_cnt (in: room in the arrays; out: how many there are), also named count.</summary>
    [FieldOffset(24)] public uint ProgCount;
    [FieldOffset(32)] public ulong ProgAttachFlags;
    [FieldOffset(40)] public ulong LinkIds;
    [FieldOffset(48)] public ulong LinkAttachFlags;
    [FieldOffset(56)] public ulong Revision;
}

/// <summary>BPF_RAW_TRACEPOINT_OPEN.</summary>
[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct RawTracepointOpenAttr
{
    [FieldOffset(0)] public ulong Name;
    [FieldOffset(8)] public uint ProgFd;
    /// <summary>cookie (kernels since 6.10).</summary>
    [FieldOffset(16)] public ulong Cookie;
}

/// <summary>struct bpf_link_info with its per-type union (starting at offset 16), as in a 6.8+ uapi header.</summary>
[StructLayout(LayoutKind.Explicit, Size = Size)]
internal struct LinkInfoWire
{
    public const int Size = 64;

    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint ProgId;

    [FieldOffset(16)] public ulong RawTracepointName;
    [FieldOffset(24)] public uint RawTracepointNameLength;

    [FieldOffset(16)] public uint TracingAttachType;
    [FieldOffset(20)] public uint TracingTargetObjectId;
    [FieldOffset(24)] public uint TracingTargetBtfId;

    [FieldOffset(16)] public ulong CgroupId;
    [FieldOffset(24)] public uint CgroupAttachType;

    [FieldOffset(16)] public ulong IterTargetName;
    [FieldOffset(24)] public uint IterTargetNameLength;
    [FieldOffset(28)] public uint IterMapId;
    [FieldOffset(32)] public ulong IterCgroupId;
    [FieldOffset(40)] public uint IterCgroupOrder;
    [FieldOffset(32)] public uint IterTaskTid;
    [FieldOffset(36)] public uint IterTaskPid;

    [FieldOffset(16)] public uint NetnsIno;
    [FieldOffset(20)] public uint NetnsAttachType;

    [FieldOffset(16)] public uint XdpIfIndex;

    [FieldOffset(16)] public uint StructOpsMapId;

    [FieldOffset(16)] public uint NetfilterProtocolFamily;
    [FieldOffset(20)] public uint NetfilterHook;
    [FieldOffset(24)] public int NetfilterPriority;
    [FieldOffset(28)] public uint NetfilterFlags;

    [FieldOffset(16)] public ulong KprobeMultiAddresses;
    [FieldOffset(24)] public uint KprobeMultiCount;
    [FieldOffset(28)] public uint KprobeMultiFlags;
    [FieldOffset(32)] public ulong KprobeMultiMissed;
    [FieldOffset(40)] public ulong KprobeMultiCookies;

    [FieldOffset(16)] public ulong UprobeMultiPath;
    [FieldOffset(24)] public ulong UprobeMultiOffsets;
    [FieldOffset(32)] public ulong UprobeMultiRefCtrOffsets;
    [FieldOffset(40)] public ulong UprobeMultiCookies;
    [FieldOffset(48)] public uint UprobeMultiPathSize;
    [FieldOffset(52)] public uint UprobeMultiCount;
    [FieldOffset(56)] public uint UprobeMultiFlags;
    [FieldOffset(60)] public uint UprobeMultiPid;

    /// <summary>perf_event.type (enum bpf_perf_event_type); the per-event union follows at 24.</summary>
    [FieldOffset(16)] public uint PerfEventType;
    /// <summary>uprobe.file_name / kprobe.func_name / tracepoint.tp_name: the same slot.</summary>
    [FieldOffset(24)] public ulong PerfEventName;
    [FieldOffset(32)] public uint PerfEventNameLength;
    /// <summary>uprobe.offset / kprobe.offset.</summary>
    [FieldOffset(36)] public uint PerfEventOffset;
    /// <summary>uprobe.cookie / tracepoint.cookie / event.cookie; kprobe.addr.</summary>
    [FieldOffset(40)] public ulong PerfEventCookieOrAddress;
    [FieldOffset(48)] public ulong PerfEventKprobeMissed;
    [FieldOffset(56)] public ulong PerfEventKprobeCookie;
    /// <summary>event.config / event.type (BPF_PERF_EVENT_EVENT).</summary>
    [FieldOffset(24)] public ulong PerfEventConfig;
    [FieldOffset(32)] public uint PerfEventEventType;

    [FieldOffset(16)] public uint TcxIfIndex;
    [FieldOffset(20)] public uint TcxAttachType;

    [FieldOffset(16)] public uint NetkitIfIndex;
    [FieldOffset(20)] public uint NetkitAttachType;

    [FieldOffset(16)] public uint SockmapMapId;
    [FieldOffset(20)] public uint SockmapAttachType;
}
