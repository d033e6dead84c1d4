namespace BpfPS.Core.Kernel;

// Numbered as in a current uapi/linux/bpf.h (the installed 6.1 header stops at BPF_LINK_TYPE_KPROBE_MULTI).

/// <summary>Kernel link types (enum bpf_link_type).</summary>
public enum BpfLinkType : uint
{
    Unspec = 0,
    RawTracepoint = 1,
    Tracing = 2,
    Cgroup = 3,
    Iter = 4,
    Netns = 5,
    Xdp = 6,
    PerfEvent = 7,
    KprobeMulti = 8,
    StructOps = 9,
    Netfilter = 10,
    Tcx = 11,
    UprobeMulti = 12,
    Netkit = 13,
    Sockmap = 14,
}

/// <summary>What a perf_event link is attached to (enum bpf_perf_event_type).</summary>
public enum BpfPerfEventType : uint
{
    Unspec = 0,
    Uprobe = 1,
    Uretprobe = 2,
    Kprobe = 3,
    Kretprobe = 4,
    Tracepoint = 5,
    Event = 6,
}

/// <summary>Flags of BPF_PROG_ATTACH, BPF_LINK_CREATE (tcx, netkit) and BPF_LINK_UPDATE.</summary>
[Flags]
public enum BpfAttachFlags : uint
{
    None = 0,
    /// <summary>BPF_F_ALLOW_OVERRIDE (cgroup).</summary>
    AllowOverride = 1 << 0,
    /// <summary>BPF_F_ALLOW_MULTI (cgroup).</summary>
    AllowMulti = 1 << 1,
    /// <summary>BPF_F_REPLACE: replace the program given as replace/old fd.</summary>
    Replace = 1 << 2,
    /// <summary>BPF_F_BEFORE (6.6 multi-program API).</summary>
    Before = 1 << 3,
    /// <summary>BPF_F_AFTER (6.6 multi-program API).</summary>
    After = 1 << 4,
    /// <summary>BPF_F_ID: the relative object is given by id, not fd.</summary>
    Id = 1 << 5,
    /// <summary>BPF_F_LINK: relative object is a link (6.6 multi-program API).</summary>
    Link = 1 << 13,
}

/// <summary>bpftool's names for link and attach types, so output reads the same as `bpftool link show`.</summary>
public static class BpfLinkNames
{
    /// <summary>"raw_tracepoint", "perf_event", "xdp"... as bpftool prints a link type.</summary>
    public static string Of(BpfLinkType type) => type switch
    {
        BpfLinkType.Unspec => "unspec",
        BpfLinkType.RawTracepoint => "raw_tracepoint",
        BpfLinkType.Tracing => "tracing",
        BpfLinkType.Cgroup => "cgroup",
        BpfLinkType.Iter => "iter",
        BpfLinkType.Netns => "netns",
        BpfLinkType.Xdp => "xdp",
        BpfLinkType.PerfEvent => "perf_event",
        BpfLinkType.KprobeMulti => "kprobe_multi",
        BpfLinkType.StructOps => "struct_ops",
        BpfLinkType.Netfilter => "netfilter",
        BpfLinkType.Tcx => "tcx",
        BpfLinkType.UprobeMulti => "uprobe_multi",
        BpfLinkType.Netkit => "netkit",
        BpfLinkType.Sockmap => "sockmap",
        _ => $"type {(uint)type}",
    };

    /// <summary>"cgroup_inet_ingress", "tcx_ingress"... as libbpf's bpf_attach_type_str spells them.</summary>
    public static string Of(BpfAttachType type)
    {
        if (!Enum.IsDefined(type)) return $"type {(uint)type}";
        var name = type.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 8);
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (char.IsUpper(c) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    /// <summary>"cpu-clock", "page-faults"...: perf's names for software events.</summary>
    public static string PerfSoftwareEventName(BpfPS.Core.Links.PerfSoftwareEvent e) => e switch
    {
        BpfPS.Core.Links.PerfSoftwareEvent.CpuClock => "cpu-clock",
        BpfPS.Core.Links.PerfSoftwareEvent.TaskClock => "task-clock",
        BpfPS.Core.Links.PerfSoftwareEvent.PageFaults => "page-faults",
        BpfPS.Core.Links.PerfSoftwareEvent.ContextSwitches => "context-switches",
        BpfPS.Core.Links.PerfSoftwareEvent.CpuMigrations => "cpu-migrations",
        BpfPS.Core.Links.PerfSoftwareEvent.PageFaultsMinor => "minor-faults",
        BpfPS.Core.Links.PerfSoftwareEvent.PageFaultsMajor => "major-faults",
        BpfPS.Core.Links.PerfSoftwareEvent.AlignmentFaults => "alignment-faults",
        BpfPS.Core.Links.PerfSoftwareEvent.EmulationFaults => "emulation-faults",
        BpfPS.Core.Links.PerfSoftwareEvent.Dummy => "dummy",
        BpfPS.Core.Links.PerfSoftwareEvent.CgroupSwitches => "cgroup-switches",
        _ => $"software event {(ulong)e}",
    };
}
