using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>Netfilter protocol families a BPF netfilter link can hook (NFPROTO_*).</summary>
public enum NetfilterProtocolFamily : uint { IPv4 = 2, IPv6 = 10 }

/// <summary>Netfilter hooks (enum nf_inet_hooks).</summary>
public enum NetfilterHook : uint { PreRouting = 0, LocalIn = 1, Forward = 2, LocalOut = 3, PostRouting = 4 }

/// <summary>
/// Netfilter programs on a netfilter hook of the calling thread's network namespace (BPF_LINK_CREATE netfilter, 6.4+).
/// </summary>
public static class NetfilterLinks
{
    /// <summary>BPF_F_NETFILTER_IP_DEFRAG: let the program see defragmented packets (6.6+).</summary>
    public const uint FlagIpDefrag = 1;

    /// <summary>Attaches <paramref name="program"/> at (<paramref name="family"/>, <paramref name="hook"/>, <paramref name="priority"/>).</summary>
    /// <param name="program">A netfilter program.</param>
    /// <param name="family">IPv4 or IPv6.</param>
    /// <param name="hook">The netfilter hook.</param>
    /// <param name="flags">0, or <see cref="FlagIpDefrag"/>.</param>
    /// <param name="priority">Order among the hook's functions; the kernel refuses the extremes (INT_MIN, INT_MAX) and, with defrag, values not after it.</param>
    /// <exception cref="LinkAttachException">Wrong program type, priority taken or invalid, or no netfilter links here.</exception>
    public static KernelLink Attach(LoadedProgram program, NetfilterProtocolFamily family, NetfilterHook hook, int priority, uint flags = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        string target = $"netfilter {family} {hook} priority {priority}";
        if (program.Type != BpfProgramType.Netfilter)
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; netfilter hooks take netfilter programs", Errno.EINVAL);
        return KernelLink.Create(program, 0, BpfAttachType.Netfilter, target, (ref LinkCreateAttr attr) =>
        {
            attr.NetfilterProtocolFamily = (uint)family;
            attr.NetfilterHook = (uint)hook;
            attr.NetfilterPriority = priority;
            attr.NetfilterFlags = flags;
        });
    }
}
