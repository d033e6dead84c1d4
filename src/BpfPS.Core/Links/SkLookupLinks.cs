using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>sk_lookup programs on a network namespace (a netns link: the program runs for every socket lookup there).</summary>
public static class SkLookupLinks
{
    /// <summary>Attaches <paramref name="program"/> to the network namespace <paramref name="networkNamespace"/>.</summary>
    /// <exception cref="LinkAttachException">Wrong program type, or the kernel refused.</exception>
    public static KernelLink Attach(LoadedProgram program, NetworkNamespace networkNamespace)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(networkNamespace);
        string target = $"netns {networkNamespace.Path} (sk_lookup)";
        if (program.Type != BpfProgramType.SkLookup)
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; a network namespace takes sk_lookup programs", Errno.EINVAL);
        using var lease = networkNamespace.Fd.Lease();
        return KernelLink.Create(program, lease.Value, BpfAttachType.SkLookup, target, BpfAttachFlags.None);
    }

    /// <summary>Attaches to the namespace at <paramref name="path"/> (/run/netns/NAME, /proc/PID/ns/net).</summary>
    /// <exception cref="LinkAttachException">The path is not a network namespace, or the kernel refused.</exception>
    public static KernelLink Attach(LoadedProgram program, string path)
    {
        ArgumentNullException.ThrowIfNull(program);
        NetworkNamespace ns;
        try
        {
            ns = NetworkNamespace.Open(path);
        }
        catch (ArgumentException e)
        {
            throw new LinkAttachException(program.Name, $"netns {path} (sk_lookup)", e.Message, Errno.EINVAL, e);
        }
        using (ns)
            return Attach(program, ns);   // the link holds the namespace; our descriptor can go
    }
}
