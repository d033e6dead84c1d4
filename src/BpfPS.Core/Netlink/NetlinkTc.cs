using System.Buffers.Binary;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>The two directions of a clsact qdisc.</summary>
public enum TcDirection { Ingress, Egress }

/// <summary>One cls_bpf filter as RTM_GETTFILTER reports it.</summary>
public sealed record TcBpfFilter(int Ifindex, TcDirection Direction, ushort Priority, uint Handle, uint ProgramId, string Name, bool DirectAction);

/// <summary>
/// Classic tc through netlink: the clsact qdisc (RTM_NEWQDISC/DELQDISC) and cls_bpf filters on its ingress and egress
/// hooks (RTM_NEWTFILTER/DELTFILTER/GETTFILTER), for kernels without tcx.
/// </summary>
public static class NetlinkTc
{
    private const ushort RtmNewQdisc = 36, RtmDelQdisc = 37, RtmNewTfilter = 44, RtmDelTfilter = 45, RtmGetTfilter = 46;
    private const ushort TcaKind = 1, TcaOptions = 2;
    private const ushort TcaBpfFd = 6, TcaBpfName = 7, TcaBpfFlags = 8, TcaBpfId = 11;
    private const uint TcaBpfFlagDirectAction = 1;
    private const uint ClsactParent = 0xFFFFFFF1;      // TC_H_CLSACT
    private const uint ClsactHandle = 0xFFFF0000;      // TC_H_MAKE(TC_H_CLSACT, 0)
    private const uint IngressParent = 0xFFFFFFF2;     // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS)
    private const uint EgressParent = 0xFFFFFFF3;      // TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_EGRESS)
    private const ushort EthPAllNetworkOrder = 0x0300; // htons(ETH_P_ALL)

    /// <summary>struct tcmsg: family, pads, ifindex, handle, parent, info (20 bytes).</summary>
    private static byte[] Header(int ifindex, uint handle, uint parent, uint info)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(4), ifindex);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), handle);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), parent);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), info);
        return header;
    }

    /// <summary>Adds a clsact qdisc to the interface. Returns false when one was already there (nothing changed).</summary>
    public static bool AddClsact(NetlinkSocket socket, int ifindex)
    {
        var request = new NetlinkMessageWriter(RtmNewQdisc,
            NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagAck | NetlinkMessageWriter.FlagCreate | NetlinkMessageWriter.FlagExclusive);
        request.Header(Header(ifindex, ClsactHandle, ClsactParent, 0));
        request.String(TcaKind, "clsact");
        try
        {
            socket.Execute(request, $"RTM_NEWQDISC (clsact on ifindex {ifindex})");
            return true;
        }
        catch (NetlinkException e) when (e.ErrorNumber == Errno.EEXIST)
        {
            return false;
        }
    }

    /// <summary>Removes the clsact qdisc of the interface, and with it every filter on it.</summary>
    public static void DeleteClsact(NetlinkSocket socket, int ifindex)
    {
        var request = new NetlinkMessageWriter(RtmDelQdisc, NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagAck);
        request.Header(Header(ifindex, ClsactHandle, ClsactParent, 0));
        request.String(TcaKind, "clsact");
        socket.Execute(request, $"RTM_DELQDISC (clsact on ifindex {ifindex})");
    }

    /// <summary>
    /// Adds a cls_bpf filter running <paramref name="programFd"/> at (<paramref name="priority"/>, <paramref name="handle"/>)
    /// of the clsact hook. Fails with EEXIST when that priority and handle are taken.
    /// </summary>
    public static void AddBpfFilter(NetlinkSocket socket, int ifindex, TcDirection direction, ushort priority, uint handle,
        BpfFd programFd, string name, bool directAction = true)
    {
        if (priority == 0) throw new ArgumentOutOfRangeException(nameof(priority), "tc filter priority must be 1..65535");
        if (handle == 0) throw new ArgumentOutOfRangeException(nameof(handle), "tc filter handle must not be 0");
        var request = new NetlinkMessageWriter(RtmNewTfilter,
            NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagAck | NetlinkMessageWriter.FlagCreate | NetlinkMessageWriter.FlagExclusive);
        request.Header(Header(ifindex, handle, Parent(direction), Info(priority)));
        request.String(TcaKind, "bpf");
        using var program = programFd.Lease();
        request.BeginNested(TcaOptions);
        request.U32(TcaBpfFd, (uint)program.Value);
        request.String(TcaBpfName, name);
        if (directAction) request.U32(TcaBpfFlags, TcaBpfFlagDirectAction);
        request.EndNested();
        socket.Execute(request, $"RTM_NEWTFILTER (bpf on ifindex {ifindex} {direction.ToString().ToLowerInvariant()} prio {priority} handle {handle})");
    }

    /// <summary>Removes exactly the filter at (<paramref name="priority"/>, <paramref name="handle"/>).</summary>
    public static void DeleteBpfFilter(NetlinkSocket socket, int ifindex, TcDirection direction, ushort priority, uint handle)
    {
        var request = new NetlinkMessageWriter(RtmDelTfilter, NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagAck);
        request.Header(Header(ifindex, handle, Parent(direction), Info(priority)));
        request.String(TcaKind, "bpf");
        socket.Execute(request, $"RTM_DELTFILTER (ifindex {ifindex} {direction.ToString().ToLowerInvariant()} prio {priority} handle {handle})");
    }

    /// <summary>The cls_bpf filters on one hook of the interface's clsact qdisc (empty when there is no clsact).</summary>
    public static IReadOnlyList<TcBpfFilter> ListBpfFilters(NetlinkSocket socket, int ifindex, TcDirection direction)
    {
        var request = new NetlinkMessageWriter(RtmGetTfilter, NetlinkMessageWriter.FlagRequest | NetlinkMessageWriter.FlagDump);
        request.Header(Header(ifindex, 0, Parent(direction), 0));
        List<(ushort Type, ReadOnlyMemory<byte> Payload)> replies;
        try
        {
            replies = socket.Query(request, $"RTM_GETTFILTER (ifindex {ifindex})");
        }
        catch (NetlinkException e) when (e.ErrorNumber is Errno.EINVAL or Errno.ENOENT)
        {
            return [];   // no clsact qdisc: nothing attached
        }
        var filters = new List<TcBpfFilter>();
        foreach (var (type, payload) in replies)
        {
            if (type != RtmNewTfilter || payload.Length < 20) continue;
            var span = payload.Span;
            uint handle = BinaryPrimitives.ReadUInt32LittleEndian(span[8..]);
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(span[16..]);
            var attributes = new NetlinkAttributes(payload[20..]);
            if (attributes.String(TcaKind) != "bpf" || handle == 0) continue;   // handle 0: the per-priority chain head
            var options = attributes.Nested(TcaOptions);
            filters.Add(new TcBpfFilter(ifindex, direction, (ushort)(info >> 16), handle, options?.U32(TcaBpfId) ?? 0,
                options?.String(TcaBpfName) ?? "", ((options?.U32(TcaBpfFlags) ?? 0) & TcaBpfFlagDirectAction) != 0));
        }
        return filters;
    }

    private static uint Parent(TcDirection direction) => direction == TcDirection.Ingress ? IngressParent : EgressParent;

    private static uint Info(ushort priority) => ((uint)priority << 16) | EthPAllNetworkOrder;
}
