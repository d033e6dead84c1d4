using System.Globalization;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// What kind of object a BPF descriptor refers to, and its id: the kernel names each anonymous inode
/// ("anon_inode:bpf-map", "anon_inode:bpf-prog", "anon_inode:bpf_link", "anon_inode:btf") and lists the id in
/// /proc/self/fdinfo (how bpftool tells pinned objects apart).
/// </summary>
internal static class BpfObjectDescriptors
{
    public static BpfObjectKind KindOf(BpfFd fd)
    {
        using var lease = fd.Lease();
        string? target;
        try
        {
            target = new FileInfo($"/proc/self/fd/{lease.Value}").LinkTarget;
        }
        catch (IOException)
        {
            return BpfObjectKind.Unknown;
        }
        return target switch
        {
            "anon_inode:bpf-map" => BpfObjectKind.Map,
            "anon_inode:bpf-prog" => BpfObjectKind.Program,
            "anon_inode:bpf_link" or "anon_inode:bpf-link" => BpfObjectKind.Link,
            "anon_inode:btf" => BpfObjectKind.Btf,
            _ => BpfObjectKind.Unknown,
        };
    }

    /// <summary>The object's id: from GET_INFO for programs and maps, from fdinfo for links; 0 when unknown.</summary>
    public static uint IdOf(BpfFd fd, BpfObjectKind kind) => kind switch
    {
        BpfObjectKind.Program => BpfSyscall.GetProgramInfo(fd).Id,
        BpfObjectKind.Map => BpfSyscall.GetMapInfo(fd).Id,
        BpfObjectKind.Btf => BpfSyscall.GetBtfInfo(fd).Id,
        BpfObjectKind.Link => FdInfoField(fd, "link_id") ?? 0,
        _ => 0,
    };

    private static uint? FdInfoField(BpfFd fd, string field)
    {
        using var lease = fd.Lease();
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{lease.Value}"))
        {
            int colon = line.IndexOf(':');
            if (colon > 0 && line.AsSpan(0, colon).SequenceEqual(field)
                && uint.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out uint value))
                return value;
        }
        return null;
    }
}
