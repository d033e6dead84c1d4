using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>How an XDP program runs on an interface (the XDP_FLAGS_*_MODE bits).</summary>
public enum XdpMode
{
    /// <summary>Let the kernel choose (native when the driver supports it).</summary>
    Default = 0,
    /// <summary>Generic (SKB) mode: works on every interface, after the skb is built.</summary>
    Generic = 2,
    /// <summary>Native (driver) mode.</summary>
    Native = 4,
    /// <summary>Offloaded to the NIC.</summary>
    Offload = 8,
}

/// <summary>What IFLA_XDP says is attached to an interface: the mode the kernel reports and the program ids per mode.</summary>
public sealed record XdpAttachment(XdpAttachedMode Mode, uint ProgramId, uint GenericProgramId, uint NativeProgramId, uint OffloadProgramId)
{
    public static readonly XdpAttachment None = new(XdpAttachedMode.None, 0, 0, 0, 0);
}

/// <summary>IFLA_XDP_ATTACHED values (XDP_ATTACHED_*).</summary>
public enum XdpAttachedMode : byte { None = 0, Native = 1, Generic = 2, Offload = 3, Multiple = 4 }

/// <summary>XDP attach and detach through RTM_SETLINK / IFLA_XDP: the path for kernels without XDP links.</summary>
public static class NetlinkXdp
{
    private const ushort XdpFd = 1, XdpAttached = 2, XdpFlags = 3, XdpProgId = 4, XdpDrvProgId = 5, XdpSkbProgId = 6, XdpHwProgId = 7, XdpExpectedFd = 8;
    /// <summary>XDP_FLAGS_UPDATE_IF_NOEXIST: refuse (EBUSY) when a program is already there.</summary>
    public const uint FlagUpdateIfNotExists = 1;
    /// <summary>XDP_FLAGS_REPLACE: replace only the program given as expected (IFLA_XDP_EXPECTED_FD).</summary>
    public const uint FlagReplace = 16;

    /// <summary>
    /// Sets (or, with <paramref name="programFd"/> null, removes) the XDP program of interface <paramref name="ifindex"/>.
    /// <paramref name="expectedFd"/> makes the change conditional on that program being the one attached.
    /// </summary>
    /// <exception cref="NetlinkException">The kernel refused (EBUSY: held by another program or a link; EOPNOTSUPP: mode unsupported).</exception>
    public static void Set(NetlinkSocket socket, int ifindex, BpfFd? programFd, XdpMode mode, uint flags = 0, BpfFd? expectedFd = null)
    {
        var request = new NetlinkMessageWriter(NetlinkInterfaces.RtmSetLink, NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagAck);
        request.Header(NetlinkInterfaces.InterfaceHeader(ifindex));
        uint allFlags = flags | (uint)mode | (expectedFd is null ? 0 : FlagReplace);
        // Keep the descriptors open until the kernel has read the numbers.
        using var program = programFd is null ? default(FdLease) : programFd.Lease();
        using var expected = expectedFd is null ? default(FdLease) : expectedFd.Lease();
        request.BeginNested(NetlinkInterfaces.IflaXdp);
        request.S32(XdpFd, programFd is null ? -1 : program.Value);
        if (allFlags != 0) request.U32(XdpFlags, allFlags);
        if (expectedFd is not null) request.S32(XdpExpectedFd, expected.Value);
        request.EndNested();
        socket.Execute(request, programFd is null ? $"RTM_SETLINK (detach xdp from ifindex {ifindex})" : $"RTM_SETLINK (attach xdp to ifindex {ifindex})");
    }

    /// <summary>What is attached to interface <paramref name="ifindex"/>.</summary>
    public static XdpAttachment Query(NetlinkSocket socket, int ifindex) =>
        NetlinkInterfaces.Find(socket, ifindex)?.Xdp ?? throw new NetlinkException($"RTM_GETLINK (index {ifindex})", 19, "no such interface");

    internal static XdpAttachment ParseAttachment(NetlinkAttributes? xdp)
    {
        if (xdp is null) return XdpAttachment.None;
        return new XdpAttachment((XdpAttachedMode)(xdp.U8(XdpAttached) ?? 0), xdp.U32(XdpProgId) ?? 0,
            xdp.U32(XdpSkbProgId) ?? 0, xdp.U32(XdpDrvProgId) ?? 0, xdp.U32(XdpHwProgId) ?? 0);
    }
}
