using System.Runtime.InteropServices;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

/// <summary>
/// The attach structs' members newer than the installed 6.1 uapi header (tcx, netfilter, uprobe_multi, netkit, the
/// perf_event and uprobe_multi link info...) checked against the running kernel's own BTF, which describes
/// union bpf_attr and struct bpf_link_info exactly as this kernel reads them.
/// </summary>
public class LinkAttrBtfLayoutTests
{
    // (path of the member from the kernel type, C# struct, C# field).
    private static readonly (string Path, Type Struct, string Field)[] Fields =
    [
        ("bpf_attr.link_create.netfilter.pf", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetfilterProtocolFamily)),
        ("bpf_attr.link_create.netfilter.hooknum", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetfilterHook)),
        ("bpf_attr.link_create.netfilter.priority", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetfilterPriority)),
        ("bpf_attr.link_create.netfilter.flags", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetfilterFlags)),
        ("bpf_attr.link_create.tcx.relative_fd", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TcxRelativeFdOrId)),
        ("bpf_attr.link_create.tcx.expected_revision", typeof(LinkCreateAttr), nameof(LinkCreateAttr.TcxExpectedRevision)),
        ("bpf_attr.link_create.uprobe_multi.path", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiPath)),
        ("bpf_attr.link_create.uprobe_multi.offsets", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiOffsets)),
        ("bpf_attr.link_create.uprobe_multi.ref_ctr_offsets", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiRefCtrOffsets)),
        ("bpf_attr.link_create.uprobe_multi.cookies", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiCookies)),
        ("bpf_attr.link_create.uprobe_multi.cnt", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiCount)),
        ("bpf_attr.link_create.uprobe_multi.flags", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiFlags)),
        ("bpf_attr.link_create.uprobe_multi.pid", typeof(LinkCreateAttr), nameof(LinkCreateAttr.UprobeMultiPid)),
        ("bpf_attr.link_create.netkit.relative_fd", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetkitRelativeFdOrId)),
        ("bpf_attr.link_create.netkit.expected_revision", typeof(LinkCreateAttr), nameof(LinkCreateAttr.NetkitExpectedRevision)),
        ("bpf_attr.relative_fd", typeof(ProgAttachAttr), nameof(ProgAttachAttr.RelativeFdOrId)),
        ("bpf_attr.expected_revision", typeof(ProgAttachAttr), nameof(ProgAttachAttr.ExpectedRevision)),
        ("bpf_attr.query.link_ids", typeof(ProgQueryAttr), nameof(ProgQueryAttr.LinkIds)),
        ("bpf_attr.query.link_attach_flags", typeof(ProgQueryAttr), nameof(ProgQueryAttr.LinkAttachFlags)),
        ("bpf_attr.query.revision", typeof(ProgQueryAttr), nameof(ProgQueryAttr.Revision)),
        ("bpf_link_info.struct_ops.map_id", typeof(LinkInfoWire), nameof(LinkInfoWire.StructOpsMapId)),
        ("bpf_link_info.netfilter.priority", typeof(LinkInfoWire), nameof(LinkInfoWire.NetfilterPriority)),
        ("bpf_link_info.kprobe_multi.count", typeof(LinkInfoWire), nameof(LinkInfoWire.KprobeMultiCount)),
        ("bpf_link_info.kprobe_multi.missed", typeof(LinkInfoWire), nameof(LinkInfoWire.KprobeMultiMissed)),
        ("bpf_link_info.uprobe_multi.path", typeof(LinkInfoWire), nameof(LinkInfoWire.UprobeMultiPath)),
        ("bpf_link_info.uprobe_multi.path_size", typeof(LinkInfoWire), nameof(LinkInfoWire.UprobeMultiPathSize)),
        ("bpf_link_info.uprobe_multi.count", typeof(LinkInfoWire), nameof(LinkInfoWire.UprobeMultiCount)),
        ("bpf_link_info.uprobe_multi.pid", typeof(LinkInfoWire), nameof(LinkInfoWire.UprobeMultiPid)),
        ("bpf_link_info.perf_event.type", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventType)),
        ("bpf_link_info.perf_event.uprobe.file_name", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventName)),
        ("bpf_link_info.perf_event.uprobe.name_len", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventNameLength)),
        ("bpf_link_info.perf_event.uprobe.offset", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventOffset)),
        ("bpf_link_info.perf_event.uprobe.cookie", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventCookieOrAddress)),
        ("bpf_link_info.perf_event.kprobe.missed", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventKprobeMissed)),
        ("bpf_link_info.perf_event.kprobe.cookie", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventKprobeCookie)),
        ("bpf_link_info.perf_event.tracepoint.tp_name", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventName)),
        ("bpf_link_info.perf_event.event.config", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventConfig)),
        ("bpf_link_info.perf_event.event.type", typeof(LinkInfoWire), nameof(LinkInfoWire.PerfEventEventType)),
        ("bpf_link_info.tcx.ifindex", typeof(LinkInfoWire), nameof(LinkInfoWire.TcxIfIndex)),
        ("bpf_link_info.tcx.attach_type", typeof(LinkInfoWire), nameof(LinkInfoWire.TcxAttachType)),
        ("bpf_link_info.sockmap.map_id", typeof(LinkInfoWire), nameof(LinkInfoWire.SockmapMapId)),
    ];

    [SkippableFact]
    public void NewerMembersMatchTheRunningKernelsBtf()
    {
        Skip.IfNot(File.Exists("/sys/kernel/btf/vmlinux"), "the kernel publishes no BTF");
        var btf = KernelBtf.GetVmlinux();
        var checkedCount = 0;
        var missing = new List<string>();
        foreach (var (path, type, field) in Fields)
        {
            var parts = path.Split('.');
            var root = btf.FindByName(parts[0]).FirstOrDefault(id => btf.GetType(id) is BtfComposite);
            Skip.If(root == 0, $"the kernel's BTF has no {parts[0]}");
            if (OffsetOf(btf, root, parts.AsSpan(1)) is not uint bits)
            {
                missing.Add(path); // a member this kernel predates
                continue;
            }
            Assert.True(bits / 8 == (uint)Marshal.OffsetOf(type, field), $"{path}: the kernel says {bits / 8}, {type.Name}.{field} is at {Marshal.OffsetOf(type, field)}");
            checkedCount++;
        }
        Skip.If(checkedCount == 0, "this kernel predates every member checked here");
        if (missing.Count > 0 && BpfPS.Core.Links.KernelVersion.Current >= new Version(6, 10))
            Assert.Fail("members missing from a 6.10+ kernel's BTF: " + string.Join(", ", missing));
    }

    /// <summary>Bit offset of a member path inside a composite, looking through anonymous struct/union members.</summary>
    private static uint? OffsetOf(BtfSpec btf, uint typeId, ReadOnlySpan<string> path)
    {
        if (path.Length == 0) return 0;
        if (btf.GetType(btf.SkipModsAndTypedefs(typeId)) is not BtfComposite composite) return null;
        foreach (var member in composite.Members)
        {
            if (member.Name == path[0])
                return OffsetOf(btf, member.TypeId, path[1..]) is uint rest ? member.BitOffset + rest : null;
            if (member.Name.Length == 0 && OffsetOf(btf, member.TypeId, path) is uint inner)
                return member.BitOffset + inner;
        }
        return null;
    }
}
