using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>What a SEC() name implies beyond program and attach type (libbpf's enum sec_def_flags).</summary>
[Flags]
public enum SectionFlags
{
    None = 0,
    /// <summary>The expected attach type may be dropped for kernels that do not accept one.</summary>
    ExpectedAttachTypeOptional = 1,
    /// <summary>Attached with BPF_PROG_ATTACH (cgroup and similar); informational.</summary>
    Attachable = 2,
    /// <summary>The attach target is a BTF id named after the '/' (fentry/NAME, tp_btf/NAME, lsm/NAME, iter/NAME...).</summary>
    AttachBtf = 4,
    /// <summary>Loaded with BPF_F_SLEEPABLE.</summary>
    Sleepable = 8,
    /// <summary>XDP program that accepts multi-buffer packets: loaded with BPF_F_XDP_HAS_FRAGS.</summary>
    XdpFrags = 16,
}

/// <summary>
/// One SEC() pattern. A pattern ending in '+' matches the bare name or the name followed by '/' and anything
/// ("kprobe" and "kprobe/do_sys_open", but not "kprobex"); one ending in '/' matches any name with that prefix; any other
/// pattern must match exactly.
/// </summary>
public sealed record SectionDefinition(string Pattern, BpfProgramType ProgramType, BpfAttachType ExpectedAttachType, SectionFlags Flags)
{
    /// <summary>BPF_F_SLEEPABLE (1 &lt;&lt; 4) from uapi/linux/bpf.h.</summary>
    public const uint SleepableFlag = 1u << 4;
    /// <summary>BPF_F_XDP_HAS_FRAGS (1 &lt;&lt; 5) from uapi/linux/bpf.h.</summary>
    public const uint XdpHasFragsFlag = 1u << 5;

    /// <summary>Program flags for BPF_PROG_LOAD implied by the section.</summary>
    public uint ProgramFlags =>
        ((Flags & SectionFlags.Sleepable) != 0 ? SleepableFlag : 0) |
        (ProgramType == BpfProgramType.Xdp && (Flags & SectionFlags.XdpFrags) != 0 ? XdpHasFragsFlag : 0);

    /// <summary>True when <paramref name="sectionName"/> is of this kind (libbpf's sec_def_matches).</summary>
    public bool Matches(string sectionName)
    {
        char last = Pattern[^1];
        if (last == '/') return sectionName.StartsWith(Pattern, StringComparison.Ordinal);
        if (last != '+') return sectionName == Pattern;
        var stem = Pattern.AsSpan(0, Pattern.Length - 1);
        if (!sectionName.AsSpan().StartsWith(stem, StringComparison.Ordinal)) return false;
        return sectionName.Length == stem.Length || sectionName[stem.Length] == '/';
    }

    /// <summary>
    /// The BTF attach target written after the first '/' ("fentry/do_unlinkat" gives "do_unlinkat"), for kinds that attach
    /// by BTF id and for struct_ops; null otherwise or when the section names none.
    /// </summary>
    public string? AttachTargetOf(string sectionName)
    {
        if ((Flags & SectionFlags.AttachBtf) == 0 && ProgramType != BpfProgramType.StructOps) return null;
        int slash = sectionName.IndexOf('/');
        return slash < 0 || slash == sectionName.Length - 1 ? null : sectionName[(slash + 1)..];
    }
}

/// <summary>
/// The SEC() names libbpf 1.1 understands (libbpf.c section_defs), in libbpf's order: the first match wins, so more
/// specific names come before shorter ones ("sk_reuseport/migrate" before "sk_reuseport", "xdp.frags/devmap" before "xdp").
/// </summary>
public static class SectionDefinitions
{
    private const SectionFlags AttachableOpt = SectionFlags.Attachable | SectionFlags.ExpectedAttachTypeOptional;
    private const SectionFlags Btf = SectionFlags.AttachBtf;
    private const SectionFlags Sleep = SectionFlags.Sleepable;
    private const SectionFlags Frags = SectionFlags.XdpFrags;
    private const SectionFlags Att = SectionFlags.Attachable;
    private const SectionFlags None = SectionFlags.None;

    private static SectionDefinition D(string pattern, BpfProgramType type, BpfAttachType attach, SectionFlags flags) => new(pattern, type, attach, flags);
    private static SectionDefinition D(string pattern, BpfProgramType type, SectionFlags flags) => new(pattern, type, 0, flags);

    /// <summary>Every definition, in matching order.</summary>
    public static IReadOnlyList<SectionDefinition> All { get; } =
    [
        D("socket", BpfProgramType.SocketFilter, None),
        D("sk_reuseport/migrate", BpfProgramType.SkReuseport, BpfAttachType.SkReuseportSelectOrMigrate, Att),
        D("sk_reuseport", BpfProgramType.SkReuseport, BpfAttachType.SkReuseportSelect, Att),
        D("kprobe+", BpfProgramType.Kprobe, None),
        D("uprobe+", BpfProgramType.Kprobe, None),
        D("uprobe.s+", BpfProgramType.Kprobe, Sleep),
        D("kretprobe+", BpfProgramType.Kprobe, None),
        D("uretprobe+", BpfProgramType.Kprobe, None),
        D("uretprobe.s+", BpfProgramType.Kprobe, Sleep),
        D("kprobe.multi+", BpfProgramType.Kprobe, BpfAttachType.TraceKprobeMulti, None),
        D("kretprobe.multi+", BpfProgramType.Kprobe, BpfAttachType.TraceKprobeMulti, None),
        D("uprobe.multi+", BpfProgramType.Kprobe, BpfAttachType.TraceUprobeMulti, None),
        D("uretprobe.multi+", BpfProgramType.Kprobe, BpfAttachType.TraceUprobeMulti, None),
        D("ksyscall+", BpfProgramType.Kprobe, None),
        D("kretsyscall+", BpfProgramType.Kprobe, None),
        D("usdt+", BpfProgramType.Kprobe, None),
        D("tc", BpfProgramType.SchedCls, None),
        D("classifier", BpfProgramType.SchedCls, None),
        D("action", BpfProgramType.SchedAct, None),
        D("tracepoint+", BpfProgramType.Tracepoint, None),
        D("tp+", BpfProgramType.Tracepoint, None),
        D("raw_tracepoint+", BpfProgramType.RawTracepoint, None),
        D("raw_tp+", BpfProgramType.RawTracepoint, None),
        D("raw_tracepoint.w+", BpfProgramType.RawTracepointWritable, None),
        D("raw_tp.w+", BpfProgramType.RawTracepointWritable, None),
        D("tp_btf+", BpfProgramType.Tracing, BpfAttachType.TraceRawTp, Btf),
        D("fentry+", BpfProgramType.Tracing, BpfAttachType.TraceFentry, Btf),
        D("fmod_ret+", BpfProgramType.Tracing, BpfAttachType.ModifyReturn, Btf),
        D("fexit+", BpfProgramType.Tracing, BpfAttachType.TraceFexit, Btf),
        D("fentry.s+", BpfProgramType.Tracing, BpfAttachType.TraceFentry, Btf | Sleep),
        D("fmod_ret.s+", BpfProgramType.Tracing, BpfAttachType.ModifyReturn, Btf | Sleep),
        D("fexit.s+", BpfProgramType.Tracing, BpfAttachType.TraceFexit, Btf | Sleep),
        D("freplace+", BpfProgramType.Ext, Btf),
        D("lsm+", BpfProgramType.Lsm, BpfAttachType.LsmMac, Btf),
        D("lsm.s+", BpfProgramType.Lsm, BpfAttachType.LsmMac, Btf | Sleep),
        D("lsm_cgroup+", BpfProgramType.Lsm, BpfAttachType.LsmCgroup, Btf),
        D("iter+", BpfProgramType.Tracing, BpfAttachType.TraceIter, Btf),
        D("iter.s+", BpfProgramType.Tracing, BpfAttachType.TraceIter, Btf | Sleep),
        D("syscall", BpfProgramType.Syscall, Sleep),
        D("xdp.frags/devmap", BpfProgramType.Xdp, BpfAttachType.XdpDevmap, Frags),
        D("xdp/devmap", BpfProgramType.Xdp, BpfAttachType.XdpDevmap, Att),
        D("xdp.frags/cpumap", BpfProgramType.Xdp, BpfAttachType.XdpCpumap, Frags),
        D("xdp/cpumap", BpfProgramType.Xdp, BpfAttachType.XdpCpumap, Att),
        D("xdp.frags", BpfProgramType.Xdp, BpfAttachType.Xdp, Frags),
        D("xdp", BpfProgramType.Xdp, BpfAttachType.Xdp, AttachableOpt),
        D("perf_event", BpfProgramType.PerfEvent, None),
        D("lwt_in", BpfProgramType.LwtIn, None),
        D("lwt_out", BpfProgramType.LwtOut, None),
        D("lwt_xmit", BpfProgramType.LwtXmit, None),
        D("lwt_seg6local", BpfProgramType.LwtSeg6local, None),
        D("sockops", BpfProgramType.SockOps, BpfAttachType.CgroupSockOps, AttachableOpt),
        D("sk_skb/stream_parser", BpfProgramType.SkSkb, BpfAttachType.SkSkbStreamParser, AttachableOpt),
        D("sk_skb/stream_verdict", BpfProgramType.SkSkb, BpfAttachType.SkSkbStreamVerdict, AttachableOpt),
        D("sk_skb", BpfProgramType.SkSkb, None),
        D("sk_msg", BpfProgramType.SkMsg, BpfAttachType.SkMsgVerdict, AttachableOpt),
        D("lirc_mode2", BpfProgramType.LircMode2, BpfAttachType.LircMode2, AttachableOpt),
        D("flow_dissector", BpfProgramType.FlowDissector, BpfAttachType.FlowDissector, AttachableOpt),
        D("cgroup_skb/ingress", BpfProgramType.CgroupSkb, BpfAttachType.CgroupInetIngress, AttachableOpt),
        D("cgroup_skb/egress", BpfProgramType.CgroupSkb, BpfAttachType.CgroupInetEgress, AttachableOpt),
        D("cgroup/skb", BpfProgramType.CgroupSkb, None),
        D("cgroup/sock_create", BpfProgramType.CgroupSock, BpfAttachType.CgroupInetSockCreate, Att),
        D("cgroup/sock_release", BpfProgramType.CgroupSock, BpfAttachType.CgroupInetSockRelease, Att),
        D("cgroup/sock", BpfProgramType.CgroupSock, BpfAttachType.CgroupInetSockCreate, AttachableOpt),
        D("cgroup/post_bind4", BpfProgramType.CgroupSock, BpfAttachType.CgroupInet4PostBind, Att),
        D("cgroup/post_bind6", BpfProgramType.CgroupSock, BpfAttachType.CgroupInet6PostBind, Att),
        D("cgroup/bind4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet4Bind, Att),
        D("cgroup/bind6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet6Bind, Att),
        D("cgroup/connect4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet4Connect, Att),
        D("cgroup/connect6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet6Connect, Att),
        D("cgroup/sendmsg4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupUdp4Sendmsg, Att),
        D("cgroup/sendmsg6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupUdp6Sendmsg, Att),
        D("cgroup/recvmsg4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupUdp4Recvmsg, Att),
        D("cgroup/recvmsg6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupUdp6Recvmsg, Att),
        D("cgroup/getpeername4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet4Getpeername, Att),
        D("cgroup/getpeername6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet6Getpeername, Att),
        D("cgroup/getsockname4", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet4Getsockname, Att),
        D("cgroup/getsockname6", BpfProgramType.CgroupSockAddr, BpfAttachType.CgroupInet6Getsockname, Att),
        D("cgroup/sysctl", BpfProgramType.CgroupSysctl, BpfAttachType.CgroupSysctl, Att),
        D("cgroup/getsockopt", BpfProgramType.CgroupSockopt, BpfAttachType.CgroupGetsockopt, Att),
        D("cgroup/setsockopt", BpfProgramType.CgroupSockopt, BpfAttachType.CgroupSetsockopt, Att),
        D("cgroup/dev", BpfProgramType.CgroupDevice, BpfAttachType.CgroupDevice, AttachableOpt),
        D("struct_ops+", BpfProgramType.StructOps, None),
        D("struct_ops.s+", BpfProgramType.StructOps, Sleep), // libbpf 1.2+: sleepable struct_ops members (sched_ext's init/exit)
        D("sk_lookup", BpfProgramType.SkLookup, BpfAttachType.SkLookup, Att),
        D("netfilter", BpfProgramType.Netfilter, BpfAttachType.Netfilter, None),
    ];

    /// <summary>The first definition matching <paramref name="sectionName"/>, or null.</summary>
    public static SectionDefinition? Find(string sectionName)
    {
        foreach (var d in All)
        {
            if (d.Matches(sectionName)) return d;
        }
        return null;
    }

    /// <summary>The definition for a program's section.</summary>
    /// <exception cref="BpfFormatException">No SEC() kind matches; the message names the section and the program.</exception>
    public static SectionDefinition Resolve(string sectionName, string programName, string? file = null) =>
        Find(sectionName) ?? throw new BpfFormatException(
            $"program '{programName}': unrecognised section name '{sectionName}' (no known SEC() kind such as \"xdp\", \"kprobe/...\", \"tracepoint/...\" matches)",
            file, sectionName);
}
