using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

/// <summary>
/// The attach commands' attr structs and struct bpf_link_info must match the kernel's uapi header byte for byte. The
/// reference is the C compiler reading /usr/include/linux/bpf.h (6.1 here: members newer than that header, such as tcx,
/// netfilter and uprobe_multi, are checked against the running kernel's BTF by LinkAttrBtfLayoutTests).
/// </summary>
public class LinkAttrLayoutTests
{
    private static readonly (string C, Type Struct, string Field)[] Fields =
    [
        ("offsetof(union bpf_attr, link_create.prog_fd)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.ProgFd)),
        ("offsetof(union bpf_attr, link_create.target_ifindex)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TargetFd)),
        ("offsetof(union bpf_attr, link_create.attach_type)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.AttachType)),
        ("offsetof(union bpf_attr, link_create.flags)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.Flags)),
        ("offsetof(union bpf_attr, link_create.target_btf_id)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TargetBtfId)),
        ("offsetof(union bpf_attr, link_create.iter_info)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.IterInfo)),
        ("offsetof(union bpf_attr, link_create.iter_info_len)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.IterInfoLength)),
        ("offsetof(union bpf_attr, link_create.perf_event.bpf_cookie)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.PerfEventCookie)),
        ("offsetof(union bpf_attr, link_create.kprobe_multi.flags)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.KprobeMultiFlags)),
        ("offsetof(union bpf_attr, link_create.kprobe_multi.cnt)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.KprobeMultiCount)),
        ("offsetof(union bpf_attr, link_create.kprobe_multi.syms)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.KprobeMultiSymbols)),
        ("offsetof(union bpf_attr, link_create.kprobe_multi.addrs)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.KprobeMultiAddresses)),
        ("offsetof(union bpf_attr, link_create.kprobe_multi.cookies)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.KprobeMultiCookies)),
        ("offsetof(union bpf_attr, link_create.tracing.target_btf_id)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TracingTargetBtfId)),
        ("offsetof(union bpf_attr, link_create.tracing.cookie)", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TracingCookie)),
        ("offsetof(union bpf_attr, link_update.link_fd)", typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.LinkFd)),
        ("offsetof(union bpf_attr, link_update.new_prog_fd)", typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.NewProgFd)),
        ("offsetof(union bpf_attr, link_update.flags)", typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.Flags)),
        ("offsetof(union bpf_attr, link_update.old_prog_fd)", typeof(LinkUpdateAttr), nameof(LinkUpdateAttr.OldProgFd)),
        ("offsetof(union bpf_attr, link_detach.link_fd)", typeof(LinkDetachAttr), nameof(LinkDetachAttr.LinkFd)),
        ("offsetof(union bpf_attr, iter_create.link_fd)", typeof(IterCreateAttr), nameof(IterCreateAttr.LinkFd)),
        ("offsetof(union bpf_attr, iter_create.flags)", typeof(IterCreateAttr), nameof(IterCreateAttr.Flags)),
        ("offsetof(union bpf_attr, target_fd)", typeof(ProgAttachAttr), nameof(ProgAttachAttr.TargetFd)),
        ("offsetof(union bpf_attr, attach_bpf_fd)", typeof(ProgAttachAttr), nameof(ProgAttachAttr.AttachBpfFd)),
        ("offsetof(union bpf_attr, attach_type)", typeof(ProgAttachAttr), nameof(ProgAttachAttr.AttachType)),
        ("offsetof(union bpf_attr, attach_flags)", typeof(ProgAttachAttr), nameof(ProgAttachAttr.AttachFlags)),
        ("offsetof(union bpf_attr, replace_bpf_fd)", typeof(ProgAttachAttr), nameof(ProgAttachAttr.ReplaceBpfFd)),
        ("offsetof(union bpf_attr, query.target_fd)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.TargetFd)),
        ("offsetof(union bpf_attr, query.attach_type)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.AttachType)),
        ("offsetof(union bpf_attr, query.query_flags)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.QueryFlags)),
        ("offsetof(union bpf_attr, query.attach_flags)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.AttachFlags)),
        ("offsetof(union bpf_attr, query.prog_ids)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgIds)),
        ("offsetof(union bpf_attr, query.prog_cnt)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgCount)),
        ("offsetof(union bpf_attr, query.prog_attach_flags)", typeof(ProgQueryAttr), nameof(ProgQueryAttr.ProgAttachFlags)),
        ("offsetof(union bpf_attr, raw_tracepoint.name)", typeof(RawTracepointOpenAttr), nameof(RawTracepointOpenAttr.Name)),
        ("offsetof(union bpf_attr, raw_tracepoint.prog_fd)", typeof(RawTracepointOpenAttr), nameof(RawTracepointOpenAttr.ProgFd)),
        ("offsetof(struct bpf_link_info, prog_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.ProgId)),
        ("offsetof(struct bpf_link_info, raw_tracepoint.tp_name)", typeof(LinkInfoWire), nameof(LinkInfoWire.RawTracepointName)),
        ("offsetof(struct bpf_link_info, raw_tracepoint.tp_name_len)", typeof(LinkInfoWire), nameof(LinkInfoWire.RawTracepointNameLength)),
        ("offsetof(struct bpf_link_info, tracing.attach_type)", typeof(LinkInfoWire), nameof(LinkInfoWire.TracingAttachType)),
        ("offsetof(struct bpf_link_info, tracing.target_obj_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.TracingTargetObjectId)),
        ("offsetof(struct bpf_link_info, tracing.target_btf_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.TracingTargetBtfId)),
        ("offsetof(struct bpf_link_info, cgroup.cgroup_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.CgroupId)),
        ("offsetof(struct bpf_link_info, cgroup.attach_type)", typeof(LinkInfoWire), nameof(LinkInfoWire.CgroupAttachType)),
        ("offsetof(struct bpf_link_info, iter.target_name)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterTargetName)),
        ("offsetof(struct bpf_link_info, iter.target_name_len)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterTargetNameLength)),
        ("offsetof(struct bpf_link_info, iter.map.map_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterMapId)),
        ("offsetof(struct bpf_link_info, iter.cgroup.cgroup_id)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterCgroupId)),
        ("offsetof(struct bpf_link_info, iter.cgroup.order)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterCgroupOrder)),
        ("offsetof(struct bpf_link_info, iter.task.tid)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterTaskTid)),
        ("offsetof(struct bpf_link_info, iter.task.pid)", typeof(LinkInfoWire), nameof(LinkInfoWire.IterTaskPid)),
        ("offsetof(struct bpf_link_info, netns.netns_ino)", typeof(LinkInfoWire), nameof(LinkInfoWire.NetnsIno)),
        ("offsetof(struct bpf_link_info, netns.attach_type)", typeof(LinkInfoWire), nameof(LinkInfoWire.NetnsAttachType)),
        ("offsetof(struct bpf_link_info, xdp.ifindex)", typeof(LinkInfoWire), nameof(LinkInfoWire.XdpIfIndex)),
        ("offsetof(union bpf_iter_link_info, map.map_fd)", typeof(IterLinkInfo), nameof(IterLinkInfo.MapFd)),
        ("offsetof(union bpf_iter_link_info, cgroup.cgroup_fd)", typeof(IterLinkInfo), nameof(IterLinkInfo.CgroupFd)),
        ("offsetof(union bpf_iter_link_info, cgroup.cgroup_id)", typeof(IterLinkInfo), nameof(IterLinkInfo.CgroupId)),
        ("offsetof(union bpf_iter_link_info, task.pid_fd)", typeof(IterLinkInfo), nameof(IterLinkInfo.TaskPidFd)),
    ];

    [SkippableFact]
    public void LinkStructsMatchTheUapiHeaderAsCompiledByC()
    {
        Skip.IfNot(KernelTestSupport.HasTool("gcc"), "gcc is needed to read the uapi header layout");
        Skip.IfNot(File.Exists("/usr/include/linux/bpf.h"), "/usr/include/linux/bpf.h (linux-libc-dev) is not installed");

        var dir = Directory.CreateTempSubdirectory("bpfps-link-layout");
        try
        {
            var lines = Fields.Select(f => f.C).Append("sizeof(union bpf_iter_link_info)")
                .Select(e => $"  printf(\"%zu\\n\", (size_t)({e}));");
            var source = "#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\nint main(void) {\n" + string.Join("\n", lines) + "\n  return 0;\n}\n";
            var c = Path.Combine(dir.FullName, "layout.c");
            var exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(c, source);
            var (compileCode, compileOutput) = KernelTestSupport.Run("gcc", $"-o {exe} {c}");
            Assert.True(compileCode == 0, compileOutput);
            var (runCode, output) = KernelTestSupport.Run(exe, "");
            Assert.Equal(0, runCode);
            var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
            Assert.Equal(Fields.Length + 1, values.Length);
            for (int i = 0; i < Fields.Length; i++)
                Assert.True(values[i] == (long)Marshal.OffsetOf(Fields[i].Struct, Fields[i].Field),
                    $"{Fields[i].C}: C says {values[i]}, {Fields[i].Struct.Name}.{Fields[i].Field} is at {Marshal.OffsetOf(Fields[i].Struct, Fields[i].Field)}");
            Assert.Equal(values[^1], Marshal.SizeOf<IterLinkInfo>());
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void EveryLinkAttrStructIsAsLargeAsTheUnion()
    {
        foreach (var t in new[] { typeof(LinkCreateAttr), typeof(LinkUpdateAttr), typeof(LinkDetachAttr), typeof(IterCreateAttr),
                     typeof(ProgAttachAttr), typeof(ProgQueryAttr), typeof(RawTracepointOpenAttr) })
            Assert.Equal(BpfAttr.Size, Marshal.SizeOf(t));
        // The 6.8+ struct bpf_link_info (kprobe perf_event and uprobe_multi members end at 64).
        Assert.Equal(64, Marshal.SizeOf<LinkInfoWire>());
    }

    [Theory]
    [InlineData(BpfAttachType.CgroupInetIngress, "cgroup_inet_ingress")]
    [InlineData(BpfAttachType.CgroupInet4Bind, "cgroup_inet4_bind")]
    [InlineData(BpfAttachType.CgroupUdp6Recvmsg, "cgroup_udp6_recvmsg")]
    [InlineData(BpfAttachType.LircMode2, "lirc_mode2")]
    [InlineData(BpfAttachType.TraceRawTp, "trace_raw_tp")]
    [InlineData(BpfAttachType.TcxIngress, "tcx_ingress")]
    [InlineData(BpfAttachType.TraceUprobeMulti, "trace_uprobe_multi")]
    [InlineData(BpfAttachType.SkReuseportSelectOrMigrate, "sk_reuseport_select_or_migrate")]
    public void AttachTypesAreNamedAsLibbpfNamesThem(BpfAttachType type, string name) => Assert.Equal(name, BpfLinkNames.Of(type));
}
