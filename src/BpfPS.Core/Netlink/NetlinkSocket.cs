using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>
/// A NETLINK_ROUTE socket. It belongs to the network namespace of the thread that opened it for its whole life, so an
/// attachment that keeps its socket detaches in the right namespace whichever thread disposes it.
/// Requests are serialised; each waits for the kernel's acknowledgement (or the end of a dump).
/// </summary>
public sealed unsafe class NetlinkSocket : IDisposable
{
    private const ushort MessageError = 2, MessageDone = 3;
    private const ushort ErrorHasTlvs = 0x200;
    private const ushort ErrorAttrMessage = 1;

    private readonly BpfFd _fd;
    private readonly object _lock = new();
    private uint _sequence = (uint)Environment.TickCount;

    private NetlinkSocket(BpfFd fd) => _fd = fd;

    /// <summary>Opens a route netlink socket in the calling thread's network namespace, with extended acks on.</summary>
    /// <exception cref="NetlinkException">socket() or bind() failed.</exception>
    public static NetlinkSocket OpenRoute()
    {
        int fd = NetlinkNative.Socket(NetlinkNative.AfNetlink, NetlinkNative.SockRaw | NetlinkNative.SockCloexec, NetlinkNative.NetlinkRoute);
        if (fd < 0) throw new NetlinkException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError());
        var handle = new BpfFd(fd);
        try
        {
            Span<byte> address = stackalloc byte[12];   // sockaddr_nl: family, pad, pid 0 (kernel assigns), groups 0
            address.Clear();
            BinaryPrimitives.WriteUInt16LittleEndian(address, NetlinkNative.AfNetlink);
            fixed (byte* a = address)
                if (NetlinkNative.Bind(fd, a, address.Length) < 0)
                    throw new NetlinkException("bind(AF_NETLINK)", Marshal.GetLastPInvokeError());
            int one = 1;
            // Both are optional niceties (older kernels lack them): the text of errors, and acks without the request echoed.
            NetlinkNative.SetSockOpt(fd, NetlinkNative.SolNetlink, NetlinkNative.NetlinkExtAck, &one, sizeof(int));
            NetlinkNative.SetSockOpt(fd, NetlinkNative.SolNetlink, NetlinkNative.NetlinkCapAck, &one, sizeof(int));
            return new NetlinkSocket(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Sends a request that changes state and waits for its acknowledgement.</summary>
    /// <exception cref="NetlinkException">The kernel refused it.</exception>
    internal void Execute(NetlinkMessageWriter request, string operation) => Exchange(request, operation, null);

    /// <summary>Sends a request and collects the payload of every reply message (for gets and dumps).</summary>
    internal List<(ushort Type, ReadOnlyMemory<byte> Payload)> Query(NetlinkMessageWriter request, string operation)
    {
        var replies = new List<(ushort, ReadOnlyMemory<byte>)>();
        Exchange(request, operation, replies);
        return replies;
    }

    private void Exchange(NetlinkMessageWriter request, string operation, List<(ushort, ReadOnlyMemory<byte>)>? replies)
    {
        lock (_lock)
        {
            uint sequence = ++_sequence;
            var message = request.ToArray(sequence);
            using var lease = _fd.Lease();
            fixed (byte* m = message)
                if (NetlinkNative.Send(lease.Value, m, message.Length, 0) < 0)
                    throw new NetlinkException(operation, Marshal.GetLastPInvokeError(), "send failed");

            var buffer = new byte[65536];
            while (true)
            {
                nint received;
                fixed (byte* b = buffer)
                    received = NetlinkNative.Recv(lease.Value, b, buffer.Length, 0);
                if (received < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR) continue;
                    throw new NetlinkException(operation, errno, "receive failed");
                }
                int offset = 0;
                while (offset + 16 <= received)
                {
                    var span = buffer.AsSpan(offset, (int)received - offset);
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(span);
                    ushort type = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(span[6..]);
                    uint seq = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
                    if (length < 16 || length > span.Length) throw new NetlinkException(operation, Errno.EINVAL, "malformed reply from the kernel");
                    var payload = buffer.AsMemory(offset + 16, length - 16).ToArray();
                    offset += (length + 3) & ~3;
                    if (seq != sequence) continue;   // a stale reply to an earlier, abandoned request
                    if (type == MessageDone) return;
                    if (type == MessageError)
                    {
                        int error = BinaryPrimitives.ReadInt32LittleEndian(payload);
                        if (error == 0)
                        {
                            if (replies is null) return;
                            continue;
                        }
                        throw new NetlinkException(operation, -error, ExtendedAckMessage(payload, flags));
                    }
                    replies?.Add((type, payload));
                    if (replies is not null && (request.Flags & NetlinkMessageWriter.FlagDump) != NetlinkMessageWriter.FlagDump)
                        return;   // a plain get has exactly one answer
                }
            }
        }
    }

    /// <summary>The NLMSGERR_ATTR_MSG text after the error code and the echoed request header (acks are capped).</summary>
    private static string? ExtendedAckMessage(byte[] payload, ushort flags)
    {
        if ((flags & ErrorHasTlvs) == 0 || payload.Length < 20) return null;
        int echoedLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(4));
        // With NETLINK_CAP_ACK only the echoed header is present; without it the whole request follows.
        int tlvStart = 4 + ((flags & 0x100) != 0 ? 16 : Math.Max(16, (echoedLength + 3) & ~3));
        if (tlvStart > payload.Length) return null;
        return new NetlinkAttributes(payload.AsMemory(tlvStart)).String(ErrorAttrMessage);
    }

    public void Dispose() => _fd.Dispose();
}
