using BpfPS.Core.Kernel;
using BpfPS.Core.Links;

namespace BpfPS.Core.Loading;

/// <summary>
/// BPF_LINK_CREATE with attach type BPF_STRUCT_OPS over a BPF_F_LINK struct_ops map whose value is staged: the map fd
/// goes where other links take a program fd. The subsystem registers it now and unregisters it when the link closes.
/// </summary>
internal static class StructOpsLinks
{
    /// <exception cref="BpfSyscallException">The kernel refused (e.g. EEXIST: a struct_ops of that name is registered).</exception>
    public static (IDisposable Link, uint Id) Create(LoadedMap map, string what)
    {
        var attr = new LinkCreateAttr { AttachType = (uint)BpfAttachType.StructOps };
        string target = $"struct_ops {what}";
        BpfFd fd;
        using (var lease = map.Fd.Lease())
        {
            attr.ProgFd = (uint)lease.Value;
            fd = BpfSyscall.LinkCreate(ref attr, target);
        }
        var link = KernelLink.Adopt(null, fd, target);
        return (link, link.Id);
    }
}
