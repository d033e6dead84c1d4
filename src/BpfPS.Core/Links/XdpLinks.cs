using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>
/// XDP on a network interface: a kernel link (BPF_LINK_CREATE, 5.9+) by default, or the netlink IFLA_XDP path when asked
/// or when the kernel has no XDP links. Interfaces are resolved in the calling thread's network namespace.
/// </summary>
public static class XdpLinks
{
    /// <summary>Attaches <paramref name="program"/> to the interface named <paramref name="interfaceName"/>.</summary>
    /// <exception cref="LinkAttachException">No such interface, the interface is held by another XDP program (EBUSY), the mode is unsupported...</exception>
    public static BpfLink Attach(LoadedProgram program, string interfaceName, XdpMode mode = XdpMode.Default, bool useNetlink = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(interfaceName);
        int ifindex = InterfaceIndex(program, interfaceName, Describe(interfaceName, mode));
        return Attach(program, ifindex, interfaceName, mode, useNetlink);
    }

    /// <summary>Attaches <paramref name="program"/> to interface <paramref name="ifindex"/> (<paramref name="interfaceName"/> is for messages).</summary>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    public static BpfLink Attach(LoadedProgram program, int ifindex, string interfaceName, XdpMode mode = XdpMode.Default, bool useNetlink = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        string target = Describe(interfaceName, mode);
        if (program.Type != BpfProgramType.Xdp)
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; XDP needs an xdp program", Errno.EINVAL);
        if (useNetlink) return NetlinkXdpLink.Attach(program, ifindex, interfaceName, mode);
        try
        {
            return KernelLink.Create(program, ifindex, BpfAttachType.Xdp, target, null, (uint)mode);
        }
        catch (LinkAttachException e) when (e.ErrorNumber == Errno.EBUSY)
        {
            throw new LinkAttachException(program.Name, target, Held(ifindex, e.ErrorNumber), e.ErrorNumber, e);
        }
        catch (LinkAttachException e) when (e.ErrorNumber == Errno.EINVAL)
        {
            // Kernels before XDP links (5.9) refuse the attach type with EINVAL: netlink is their way. When netlink
            // refuses too, the link's error is the one worth reporting.
            try
            {
                return NetlinkXdpLink.Attach(program, ifindex, interfaceName, mode);
            }
            catch (LinkAttachException)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
                throw;
            }
        }
    }

    internal static string Describe(string interfaceName, XdpMode mode) =>
        mode == XdpMode.Default ? interfaceName : $"{interfaceName} ({mode.ToString().ToLowerInvariant()})";

    /// <summary>The cause for EBUSY: who holds the interface, as far as netlink can tell.</summary>
    internal static string Held(int ifindex, int errno)
    {
        try
        {
            using var socket = NetlinkSocket.OpenRoute();
            var attached = NetlinkXdp.Query(socket, ifindex);
            if (attached.Mode != XdpAttachedMode.None)
                return $"the interface is already held by XDP program id {attached.ProgramId} ({attached.Mode.ToString().ToLowerInvariant()} mode) ({Errno.Name(errno)}); detach it first";
        }
        catch (NetlinkException) { }
        return $"the interface is already held by another XDP program or link ({Errno.Name(errno)})";
    }

    internal static int InterfaceIndex(LoadedProgram program, string interfaceName, string target)
    {
        try
        {
            return NetlinkInterfaces.IndexOf(interfaceName);
        }
        catch (NetlinkException e)
        {
            throw new LinkAttachException(program.Name, target, $"no network interface '{interfaceName}' in this network namespace", e.ErrorNumber, e);
        }
    }
}

/// <summary>
/// An XDP program set on an interface through netlink (IFLA_XDP). There is no kernel link object: disposing removes
/// the program, and only if it is still the one this attachment set (XDP_FLAGS_REPLACE with the expected program).
/// </summary>
public sealed class NetlinkXdpLink : BpfLink
{
    private readonly NetlinkSocket _socket;
    private readonly BpfFd _programFd;

    private NetlinkXdpLink(LoadedProgram program, int ifindex, string interfaceName, XdpMode mode, NetlinkSocket socket)
        : base(program, XdpLinks.Describe(interfaceName, mode), BpfLinkType.Xdp, BpfAttachType.Xdp, null, 0)
    {
        Ifindex = ifindex;
        InterfaceName = interfaceName;
        Mode = mode;
        _socket = socket;
        _programFd = program.Fd;
    }

    /// <summary>The interface index (in the namespace the attachment was made in).</summary>
    public int Ifindex { get; }
    public string InterfaceName { get; }
    public XdpMode Mode { get; }

    public override string Kind => "xdp (netlink)";

    internal static NetlinkXdpLink Attach(LoadedProgram program, int ifindex, string interfaceName, XdpMode mode)
    {
        string target = XdpLinks.Describe(interfaceName, mode);
        // The socket stays with the attachment: it is bound to this namespace, so Dispose detaches here from any thread.
        var socket = NetlinkSocket.OpenRoute();
        try
        {
            NetlinkXdp.Set(socket, ifindex, program.Fd, mode, NetlinkXdp.FlagUpdateIfNotExists);
            return new NetlinkXdpLink(program, ifindex, interfaceName, mode, socket);
        }
        catch (NetlinkException e)
        {
            socket.Dispose();
            string cause = e.ErrorNumber == Errno.EBUSY ? XdpLinks.Held(ifindex, e.ErrorNumber) : e.Message;
            throw new LinkAttachException(program.Name, target, cause, e.ErrorNumber, e);
        }
        catch (ObjectDisposedException e)
        {
            socket.Dispose();
            throw new LinkAttachException(program.Name, target, "the program was unloaded (its collection was removed)", 0, e);
        }
    }

    protected override void Detach()
    {
        try
        {
            if (!_programFd.IsClosed)
                NetlinkXdp.Set(_socket, Ifindex, null, Mode, 0, _programFd);
            else if (NetlinkXdp.Query(_socket, Ifindex).ProgramId == ProgramId && ProgramId != 0)
                NetlinkXdp.Set(_socket, Ifindex, null, Mode);   // our program, though its descriptor is gone
        }
        catch (NetlinkException) { }   // the interface went away, or someone replaced the program: nothing of ours is left
        finally
        {
            _socket.Dispose();
        }
    }
}
