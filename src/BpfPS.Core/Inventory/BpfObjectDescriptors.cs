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

    /// <summary>The object's id and name: from GET_INFO for programs, maps and BTF, from fdinfo for links (no name); 0 when unknown.</summary>
    public static (uint Id, string Name) Identify(BpfFd fd, BpfObjectKind kind)
    {
        switch (kind)
        {
            case BpfObjectKind.Program:
                var program = BpfSyscall.GetProgramInfo(fd);
                return (program.Id, program.Name);
            case BpfObjectKind.Map:
                var map = BpfSyscall.GetMapInfo(fd);
                return (map.Id, map.Name);
            case BpfObjectKind.Btf:
                var btf = BpfSyscall.GetBtfInfo(fd);
                return (btf.Id, btf.Name);
            case BpfObjectKind.Link:
                return (FdInfoField(fd, "link_id") ?? 0, "");
            default:
                return (0, "");
        }
    }

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
