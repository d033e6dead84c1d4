using System.Buffers.Binary;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>One network interface as RTM_GETLINK reports it.</summary>
public sealed record NetworkInterfaceEntry(int Index, string Name, XdpAttachment Xdp);

/// <summary>Interface names and indexes (RTM_GETLINK), in the socket's network namespace.</summary>
public static class NetlinkInterfaces
{
    internal const ushort RtmNewLink = 16, RtmGetLink = 18, RtmSetLink = 19;
    internal const ushort IflaIfname = 3, IflaXdp = 43;

    /// <summary>struct ifinfomsg: family, pad, type, index, flags, change (16 bytes).</summary>
    internal static byte[] InterfaceHeader(int index)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), index);
        return header;
    }

    /// <summary>The interface called <paramref name="name"/>, or null when there is none.</summary>
    public static NetworkInterfaceEntry? Find(NetlinkSocket socket, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var request = new NetlinkMessageWriter(RtmGetLink, NetlinkMessageWriter.FlagRequest);
        request.Header(InterfaceHeader(0));
        request.String(IflaIfname, name);
        return GetOne(socket, request, $"RTM_GETLINK ({name})");
    }

    /// <summary>The interface with index <paramref name="index"/>, or null when there is none.</summary>
    public static NetworkInterfaceEntry? Find(NetlinkSocket socket, int index)
    {
        var request = new NetlinkMessageWriter(RtmGetLink, NetlinkMessageWriter.FlagRequest);
        request.Header(InterfaceHeader(index));
        return GetOne(socket, request, $"RTM_GETLINK (index {index})");
    }

    /// <summary>Every interface of the namespace.</summary>
    public static IReadOnlyList<NetworkInterfaceEntry> List(NetlinkSocket socket)
    {
        var request = new NetlinkMessageWriter(RtmGetLink, NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagDump);
        request.Header(InterfaceHeader(0));
        return socket.Query(request, "RTM_GETLINK (dump)").Where(r => r.Type == RtmNewLink).Select(r => Parse(r.Payload)).ToList();
    }

    /// <summary>The index of <paramref name="name"/> in the calling thread's namespace.</summary>
    /// <exception cref="NetlinkException">No such interface (ENODEV).</exception>
    public static int IndexOf(string name)
    {
        using var socket = NetlinkSocket.OpenRoute();
        return Find(socket, name)?.Index ?? throw new NetlinkException($"RTM_GETLINK ({name})", 19, $"no network interface named '{name}'");
    }

    private static NetworkInterfaceEntry? GetOne(NetlinkSocket socket, NetlinkMessageWriter request, string operation)
    {
        try
        {
            var replies = socket.Query(request, operation);
            return replies.Where(r => r.Type == RtmNewLink).Select(r => Parse(r.Payload)).FirstOrDefault();
        }
        catch (NetlinkException e) when (e.ErrorNumber is Errno.ENOENT or 19 /* ENODEV */)
        {
            return null;
        }
    }

    private static NetworkInterfaceEntry Parse(ReadOnlyMemory<byte> payload)
    {
        int index = BinaryPrimitives.ReadInt32LittleEndian(payload.Span[4..]);
        var attributes = new NetlinkAttributes(payload[16..]);
        return new NetworkInterfaceEntry(index, attributes.String(IflaIfname) ?? "", NetlinkXdp.ParseAttachment(attributes.Nested(IflaXdp)));
    }
}
