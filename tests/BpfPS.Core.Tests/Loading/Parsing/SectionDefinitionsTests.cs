using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

public class SectionDefinitionsTests
{
    // Names chosen to probe the matching rules: exact names, "+" names bare and with "/", near misses, and entries whose
    // order decides the answer.
    public static readonly TheoryData<string> SectionNames = new()
    {
        "socket", "socket/foo", "sk_reuseport", "sk_reuseport/migrate", "sk_reuseport/other",
        "kprobe", "kprobe/do_unlinkat", "kprobex", "kprobe.multi/tcp_*", "kretprobe/do_unlinkat", "uprobe", "uprobe.s/lib:fn",
        "uretprobe.s", "ksyscall/openat", "kretsyscall/openat", "usdt/lib:prov:name",
        "tc", "tc/ingress", "classifier", "action",
        "tracepoint/syscalls/sys_enter_openat", "tp/sched/sched_switch", "tpx", "raw_tracepoint/sys_enter", "raw_tp/sys_enter",
        "raw_tp.w/sys_enter", "raw_tracepoint.w", "tp_btf/sched_switch",
        "fentry/do_unlinkat", "fexit/do_unlinkat", "fmod_ret/security_x", "fentry.s/f", "fexit.s/f", "fmod_ret.s/f",
        "freplace/f", "lsm/file_open", "lsm.s/file_open", "lsm_cgroup/socket_bind", "iter/task", "iter.s/task", "syscall",
        "xdp", "xdp/devmap", "xdp/cpumap", "xdp.frags", "xdp.frags/devmap", "xdp.frags/cpumap", "xdp/other", "xdp_foo",
        "perf_event", "lwt_in", "lwt_out", "lwt_xmit", "lwt_seg6local", "sockops",
        "sk_skb", "sk_skb/stream_parser", "sk_skb/stream_verdict", "sk_skb/other", "sk_msg", "lirc_mode2", "flow_dissector",
        "cgroup_skb/ingress", "cgroup_skb/egress", "cgroup/skb", "cgroup/sock", "cgroup/sock_create", "cgroup/sock_release",
        "cgroup/post_bind4", "cgroup/post_bind6", "cgroup/bind4", "cgroup/bind6", "cgroup/connect4", "cgroup/connect6",
        "cgroup/sendmsg4", "cgroup/sendmsg6", "cgroup/recvmsg4", "cgroup/recvmsg6", "cgroup/getpeername4",
        "cgroup/getpeername6", "cgroup/getsockname4", "cgroup/getsockname6", "cgroup/sysctl", "cgroup/getsockopt",
        "cgroup/setsockopt", "cgroup/dev", "struct_ops", "struct_ops/dctcp_init", "sk_lookup", "sk_lookup/x",
        "license", ".text", "unknown_kind", "",
    };

    [DllImport("libbpf.so.1", EntryPoint = "libbpf_prog_type_by_name")]
    private static extern int LibbpfProgTypeByName(string name, out uint progType, out uint attachType);

    private static bool LibbpfAvailable()
    {
        try { LibbpfProgTypeByName("socket", out _, out _); return true; }
        catch (DllNotFoundException) { return false; }
        catch (EntryPointNotFoundException) { return false; }
    }

    /// <summary>The independent source is libbpf 1.1 itself: libbpf_prog_type_by_name runs the same table lookup.</summary>
    [SkippableTheory]
    [MemberData(nameof(SectionNames))]
    public void AgreesWithLibbpf(string section)
    {
        Skip.IfNot(LibbpfAvailable(), "libbpf.so.1 (libbpf 1.1) is not installed");
        int rc = LibbpfProgTypeByName(section, out uint type, out uint attach);
        var ours = SectionDefinitions.Find(section);
        if (rc != 0)
        {
            Assert.Null(ours);
            return;
        }
        Assert.NotNull(ours);
        Assert.Equal((BpfProgramType)type, ours!.ProgramType);
        Assert.Equal((BpfAttachType)attach, ours.ExpectedAttachType);
    }

    [Theory]
    [InlineData("fentry/do_unlinkat", "do_unlinkat")]
    [InlineData("tp_btf/sched_switch", "sched_switch")]
    [InlineData("lsm.s/file_open", "file_open")]
    [InlineData("iter/task", "task")]
    [InlineData("struct_ops/dctcp_init", "dctcp_init")]
    [InlineData("struct_ops.s/init", "init")]
    [InlineData("fentry", null)]
    [InlineData("kprobe/do_unlinkat", null)]
    [InlineData("tracepoint/syscalls/sys_enter_openat", null)]
    public void AttachTargetOnlyForBtfKinds(string section, string? expected)
    {
        Assert.Equal(expected, SectionDefinitions.Find(section)!.AttachTargetOf(section));
    }

    [Theory]
    [InlineData("fentry.s/f", 1u << 4)]   // BPF_F_SLEEPABLE
    [InlineData("syscall", 1u << 4)]
    [InlineData("uprobe.s/x", 1u << 4)]
    [InlineData("xdp.frags", 1u << 5)]    // BPF_F_XDP_HAS_FRAGS
    [InlineData("xdp.frags/devmap", 1u << 5)]
    [InlineData("struct_ops.s/init", 1u << 4)] // libbpf 1.2+ (sched_ext's sleepable members)
    [InlineData("struct_ops/init", 0u)]
    [InlineData("xdp", 0u)]
    [InlineData("fentry/f", 0u)]
    public void ProgramFlags(string section, uint flags)
    {
        Assert.Equal(flags, SectionDefinitions.Find(section)!.ProgramFlags);
    }

    [Fact]
    public void UnknownSectionNamesTheSectionAndProgram()
    {
        var ex = Assert.Throws<BpfFormatException>(() => SectionDefinitions.Resolve("bogus/thing", "my_prog", "x.o"));
        Assert.Contains("bogus/thing", ex.Message);
        Assert.Contains("my_prog", ex.Message);
        Assert.Equal("x.o", ex.File);
    }
}
