using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>
/// sk_msg and sk_skb programs on a sockmap or sockhash: a kernel link where the kernel has sockmap links (6.10+),
/// otherwise BPF_PROG_ATTACH to the map, undone on dispose.
/// </summary>
public static class SockMapLinks
{
    /// <summary>Attaches <paramref name="program"/> to <paramref name="map"/>.</summary>
    /// <param name="program">An sk_msg or sk_skb program.</param>
    /// <param name="map">A sockmap or sockhash.</param>
    /// <param name="attachType">The hook; null takes it from the section (sk_msg, sk_skb/stream_verdict, sk_skb/stream_parser).</param>
    /// <exception cref="LinkAttachException">Not a sockmap/sockhash, no hook known, or the kernel refused.</exception>
    public static BpfLink Attach(LoadedProgram program, LoadedMap map, BpfAttachType? attachType = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(map);
        var type = attachType ?? CgroupLinks.AttachTypeFromSection(program)
            ?? throw new LinkAttachException(program.Name, $"map '{map.Name}'",
                $"section '{program.SectionName}' does not say which sockmap hook to use; give the attach type (SkMsgVerdict, SkSkbStreamVerdict...)", Errno.EINVAL);
        string target = $"{map.Type} map '{map.Name}' (id {map.Id}, {BpfLinkNames.Of(type)})";
        if (map.Type is not (BpfMapType.Sockmap or BpfMapType.Sockhash))
            throw new LinkAttachException(program.Name, target, $"it is a {map.Type} map; sk_msg/sk_skb attach to a sockmap or sockhash", Errno.EINVAL);
        if (type is not (BpfAttachType.SkMsgVerdict or BpfAttachType.SkSkbStreamVerdict or BpfAttachType.SkSkbStreamParser or BpfAttachType.SkSkbVerdict))
            throw new LinkAttachException(program.Name, target, $"{BpfLinkNames.Of(type)} is not a sockmap hook", Errno.EINVAL);

        using (var lease = map.Fd.Lease())
        {
            try
            {
                return KernelLink.Create(program, lease.Value, type, target, BpfAttachFlags.None);
            }
            catch (LinkAttachException e) when (e.ErrorNumber == Errno.EINVAL)
            {
                // No sockmap links in this kernel: the older PROG_ATTACH (whatever else refused will refuse again below).
            }
        }
        return ProgAttachLink.Attach(program, map.Fd, type, target);
    }
}
