using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>
/// Cgroup hooks (cgroup_skb ingress/egress, cgroup/sock*, sockops, connect/bind/sendmsg..., sysctl, sockopt, dev) on a
/// cgroup v2 directory, by kernel link. The attach type comes from the program's section unless given.
/// </summary>
public static class CgroupLinks
{
    private const long Cgroup2SuperMagic = 0x63677270;   // CGROUP2_SUPER_MAGIC, linux/magic.h
    private const int OpenDirectory = 0x10000;         // O_DIRECTORY

    /// <summary>Attaches <paramref name="program"/> to the cgroup v2 directory <paramref name="cgroupPath"/>.</summary>
    /// <param name="program">The program (cgroup_skb, cgroup_sock, sock_ops, cgroup_sock_addr...).</param>
    /// <param name="cgroupPath">A directory of the cgroup v2 hierarchy.</param>
    /// <param name="attachType">The hook; null takes it from the program's section (e.g. cgroup_skb/egress).</param>
    /// <exception cref="LinkAttachException">No such directory, not on cgroup v2, no attach type known, or the kernel refused.</exception>
    public static KernelLink Attach(LoadedProgram program, string cgroupPath, BpfAttachType? attachType = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(cgroupPath);
        var type = attachType ?? AttachTypeFromSection(program)
            ?? throw new LinkAttachException(program.Name, cgroupPath,
                $"section '{program.SectionName}' does not say which cgroup hook to use; give the attach type (e.g. CgroupInetIngress)", Errno.EINVAL);
        string target = $"{cgroupPath} ({BpfLinkNames.Of(type)})";
        using var cgroup = OpenCgroup(program.Name, cgroupPath, target);
        using var lease = cgroup.Lease();
        return KernelLink.Create(program, lease.Value, type, target, BpfAttachFlags.None);
    }

    /// <summary>
    /// The attach type the program's section names (libbpf's expected attach type), or null when the section leaves it
    /// open ("cgroup/skb"): sections that name a hook are the attachable ones.
    /// </summary>
    public static BpfAttachType? AttachTypeFromSection(LoadedProgram program)
    {
        var definition = SectionDefinitions.Find(program.SectionName);
        return definition is not null && (definition.Flags & SectionFlags.Attachable) != 0 ? definition.ExpectedAttachType : null;
    }

    /// <summary>Opens a cgroup v2 directory, with a clear error when it is missing or on another filesystem.</summary>
    internal static BpfFd OpenCgroup(string programName, string cgroupPath, string target)
    {
        if (!Directory.Exists(cgroupPath))
            throw new LinkAttachException(programName, target, $"no such cgroup directory '{cgroupPath}'", Errno.ENOENT);
        long magic = FileSystemMagic(cgroupPath);
        if (magic != Cgroup2SuperMagic)
            throw new LinkAttachException(programName, target,
                $"'{cgroupPath}' is not on a cgroup v2 filesystem (filesystem magic 0x{magic:x}); cgroup v2 is mounted at {Cgroup2Root() ?? "(not mounted)"}", Errno.EINVAL);
        int fd = NetlinkNative.Open(cgroupPath, NetlinkNative.OpenReadOnly | NetlinkNative.OpenCloexec | OpenDirectory);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new LinkAttachException(programName, target, $"cannot open '{cgroupPath}': {Errno.Describe(errno)}", errno);
        }
        return new BpfFd(fd);
    }

    /// <summary>Where cgroup v2 is mounted here (/sys/fs/cgroup/unified on hybrid systems), or null.</summary>
    public static string? Cgroup2Root() => LinkTargets.CgroupRoots.FirstOrDefault(r => Directory.Exists(r) && FileSystemMagic(r) == Cgroup2SuperMagic);

    private static unsafe long FileSystemMagic(string path)
    {
        byte* buffer = stackalloc byte[128];   // struct statfs; f_type is its first field (a long on 64-bit Linux)
        return NativeMethods.StatFs(path, buffer) == 0 ? *(long*)buffer : -1;
    }
}
