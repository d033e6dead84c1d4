using BpfPS.Core.Kernel;

namespace BpfPS.Core.Links;

/// <summary>Spells out a link's target from what the kernel reports: tracepoint and function names, interfaces, cgroups.</summary>
public static class LinkTargets
{
    /// <summary>The cgroup v2 hierarchy on this machine's layout (systemd hybrid), then the usual place.</summary>
    public static readonly string[] CgroupRoots = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

    /// <summary>A link's target in words, e.g. "tracepoint sched_switch", "eth0", "/sys/fs/cgroup/unified/x (cgroup_inet_ingress)".</summary>
    public static string Describe(BpfLinkInfo info) => info.Type switch
    {
        BpfLinkType.RawTracepoint => $"raw tracepoint {info.Name}",
        BpfLinkType.Tracing => $"{BpfLinkNames.Of(info.AttachType ?? 0)} btf id {info.TargetBtfId} (object {info.TargetObjectId})",
        BpfLinkType.Cgroup => $"{CgroupPath(info.CgroupId) ?? $"cgroup id {info.CgroupId}"} ({BpfLinkNames.Of(info.AttachType ?? 0)})",
        BpfLinkType.Iter => info.MapId != 0 ? $"iterator {info.Name} (map {info.MapId})" : $"iterator {info.Name}",
        BpfLinkType.Netns => $"netns {info.NetnsInode} ({BpfLinkNames.Of(info.AttachType ?? 0)})",
        BpfLinkType.Xdp => InterfaceName(info.IfIndex),
        BpfLinkType.Tcx or BpfLinkType.Netkit => $"{InterfaceName(info.IfIndex)} ({BpfLinkNames.Of(info.AttachType ?? 0)})",
        BpfLinkType.PerfEvent => info.PerfEventType switch
        {
            BpfPerfEventType.Tracepoint => $"tracepoint {info.Name}",
            BpfPerfEventType.Uprobe => $"uprobe {info.Name}+0x{info.Offset:x}",
            BpfPerfEventType.Uretprobe => $"uretprobe {info.Name}+0x{info.Offset:x}",
            BpfPerfEventType.Kprobe => $"kprobe {info.Name}+0x{info.Offset:x}",
            BpfPerfEventType.Kretprobe => $"kretprobe {info.Name}",
            BpfPerfEventType.Event => $"perf event type {info.PerfEventEventType} config {info.PerfEventConfig}",
            _ => "perf event",
        },
        BpfLinkType.UprobeMulti => $"uprobe_multi {info.Name} ({info.ProbeCount} probes{(info.Pid != 0 ? $", pid {info.Pid}" : "")})",
        BpfLinkType.KprobeMulti => $"kprobe_multi ({info.ProbeCount} functions)",
        BpfLinkType.StructOps => $"struct_ops map {info.MapId}",
        BpfLinkType.Netfilter => $"netfilter pf {info.NetfilterProtocolFamily} hook {info.NetfilterHook} prio {info.NetfilterPriority}",
        BpfLinkType.Sockmap => $"sockmap {info.MapId} ({BpfLinkNames.Of(info.AttachType ?? 0)})",
        _ => BpfLinkNames.Of(info.Type),
    };

    /// <summary>The interface's name (from /sys/class/net), or "ifindex N" when it is not in this namespace.</summary>
    public static string InterfaceName(uint ifIndex)
    {
        if (ifIndex == 0) return "ifindex 0";
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/sys/class/net"))
            {
                var file = Path.Combine(dir, "ifindex");
                if (File.Exists(file) && uint.TryParse(File.ReadAllText(file).Trim(), out var index) && index == ifIndex)
                    return Path.GetFileName(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return $"ifindex {ifIndex}";
    }

    /// <summary>The cgroup v2 directory whose inode number is <paramref name="cgroupId"/>, or null when none is found.</summary>
    public static string? CgroupPath(ulong cgroupId)
    {
        if (cgroupId == 0) return null;
        foreach (var root in CgroupRoots)
        {
            if (!IsCgroup2(root)) continue;
            var found = Search(root, cgroupId, depth: 0);
            if (found is not null) return found;
        }
        return null;
    }

    private static string? Search(string dir, ulong id, int depth)
    {
        if (Inode(dir) == id) return dir;
        if (depth > 32) return null;
        IEnumerable<string> children;
        try { children = Directory.EnumerateDirectories(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        foreach (var child in children)
        {
            var found = Search(child, id, depth + 1);
            if (found is not null) return found;
        }
        return null;
    }

    /// <summary>True when <paramref name="path"/> is the root of a cgroup v2 hierarchy (or inside one).</summary>
    public static bool IsCgroup2(string path) => File.Exists(Path.Combine(path, "cgroup.controllers"));

    private static ulong Inode(string path)
    {
        try
        {
            return Inodes.Of(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return 0; }
    }
}
