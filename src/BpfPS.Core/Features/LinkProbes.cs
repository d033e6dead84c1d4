using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// Link kinds, probed by BPF_LINK_CREATE with a matching program and a target that cannot exist (fd -1, ifindex 0, a
/// missing symbol, the directory "/"). A kernel that knows the kind gets as far as looking the target up and fails
/// with that lookup's errno; one that does not stops at the attach type with EINVAL (or EOPNOTSUPP when the kind is
/// compiled out). No link is created.
/// </summary>
internal static unsafe class LinkProbes
{
    private const uint AttachCgroupIngress = 0, AttachSkMsgVerdict = 7, AttachSkLookup = 36, AttachPerfEvent = 41,
        AttachKprobeMulti = 42, AttachTcxIngress = 46, AttachUprobeMulti = 48, AttachNetkitPrimary = 54;
    private const int ENODEV = 19, EAFNOSUPPORT = 97;

    /// <summary>Link name (as in enum bpf_link_type), program type, attach type, what the target is, the errnos that mean "known".</summary>
    internal static readonly (string Name, uint ProgramType, uint AttachType, string Target, int[] Known)[] Probes =
    [
        ("cgroup", ProgramProbes.CgroupSkb, AttachCgroupIngress, "cgroup fd -1", [Errno.EBADF]),
        ("netns", ProgramProbes.SkLookup, AttachSkLookup, "netns fd -1", [Errno.EBADF]),
        ("perf_event", ProgramProbes.Kprobe, AttachPerfEvent, "perf event fd -1", [Errno.EBADF]),
        ("kprobe_multi", ProgramProbes.Kprobe, AttachKprobeMulti, "a symbol that does not exist", [Errno.ENOENT, Errno.ESRCH]),
        ("netfilter", ProgramProbes.Netfilter, ProgramProbes.AttachNetfilter, "protocol family 0", [EAFNOSUPPORT]),
        ("tcx", ProgramProbes.SchedCls, AttachTcxIngress, "ifindex 0", [ENODEV]),
        ("uprobe_multi", ProgramProbes.Kprobe, AttachUprobeMulti, "the directory /", [Errno.EBADF]),
        ("netkit", ProgramProbes.SchedCls, AttachNetkitPrimary, "ifindex 0", [ENODEV]),
        ("sockmap", ProgramProbes.SkMsg, AttachSkMsgVerdict, "map fd -1", [Errno.EBADF]),
    ];

    internal static ProbeResult Probe(int index, BtfSpec? kernel, UapiNames names)
    {
        var (name, programType, attachType, target, known) = Probes[index];
        BpfFd program;
        try
        {
            program = BpfSyscall.ProgramLoad(ProgramProbes.Request(programType, ProgramProbes.ReturnOnly(), kernel, attachType)).Fd;
        }
        catch (BpfSyscallException e)
        {
            return ProbeResult.No($"no {names.ProgramTypeName(programType)} program to link: {ProgramProbes.Refusal(e)}", e.ErrorNumber);
        }
        using (program)
        {
            using var lease = program.Lease();
            var attr = new LinkCreateAttr { ProgFd = (uint)lease.Value, TargetFd = uint.MaxValue, AttachType = attachType };
            byte[] symbol = BpfSyscall.NulTerminated("bpfps_feature_probe_no_such_symbol");
            byte[] path = BpfSyscall.NulTerminated("/");
            ulong offset = 0;
            int fd, errno;
            fixed (byte* s = symbol)
            fixed (byte* p = path)
            {
                ulong symbolAddress = (ulong)s;
                switch (name)
                {
                    case "tcx" or "netkit": attr.TargetFd = 0; break;
                    case "netfilter": attr.TargetFd = 0; attr.NetfilterProtocolFamily = 0; break;
                    case "kprobe_multi": attr.TargetFd = 0; attr.KprobeMultiCount = 1; attr.KprobeMultiSymbols = (ulong)&symbolAddress; break;
                    case "uprobe_multi": attr.TargetFd = 0; attr.UprobeMultiPath = (ulong)p; attr.UprobeMultiOffsets = (ulong)&offset; attr.UprobeMultiCount = 1; break;
                }
                fd = BpfSyscall.Invoke(BpfCommand.LinkCreate, ref attr, out errno);
            }
            if (fd >= 0)
            {
                // Not expected with these targets; a link was made after all, so the kind is certainly there.
                NativeMethods.Close(fd);
                return ProbeResult.Yes($"BPF_LINK_CREATE made a {name} link to {target}");
            }
            if (known.Contains(errno))
                return ProbeResult.Yes($"BPF_LINK_CREATE looked up {target} ({Errno.Name(errno)}), so it knows {names.AttachTypeName(attachType)}");
            return ProbeResult.No($"BPF_LINK_CREATE with attach type {names.AttachTypeName(attachType)}: {Errno.Describe(errno)}" +
                (errno is Errno.EOPNOTSUPP or Errno.ENOTSUPP ? " (compiled out of this kernel)" : errno == Errno.EINVAL ? " (this kernel does not support this kind of link: unknown to it, or not built in)" : ""), errno);
        }
    }
}
