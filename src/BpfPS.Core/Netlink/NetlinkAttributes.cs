using System.Buffers.Binary;
using System.Text;

namespace BpfPS.Core.Netlink;

/// <summary>The attributes of one message (or of one nested attribute), indexed by type; later duplicates win.</summary>
internal sealed class NetlinkAttributes
{
    private readonly Dictionary<ushort, ReadOnlyMemory<byte>> _byType = new();

    /// <summary>Parses the nlattr sequence in <paramref name="data"/>, stopping at the first malformed header.</summary>
    public NetlinkAttributes(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        int offset = 0;
        while (offset + 4 <= span.Length)
        {
            int length = BinaryPrimitives.ReadUInt16LittleEndian(span[offset..]);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(span[(offset + 2)..]) & 0x3fff);
            if (length < 4 || offset + length > span.Length) break;
            _byType[type] = data.Slice(offset + 4, length - 4);
            offset += (length + 3) & ~3;
        }
    }

    public bool Has(ushort type) => _byType.ContainsKey(type);

    public ReadOnlyMemory<byte>? Raw(ushort type) => _byType.TryGetValue(type, out var v) ? v : null;

    public uint? U32(ushort type) => _byType.TryGetValue(type, out var v) && v.Length >= 4 ? BinaryPrimitives.ReadUInt32LittleEndian(v.Span) : null;

    public byte? U8(ushort type) => _byType.TryGetValue(type, out var v) && v.Length >= 1 ? v.Span[0] : null;

    public string? String(ushort type)
    {
        if (!_byType.TryGetValue(type, out var v)) return null;
        var s = v.Span;
        int end = s.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? s : s[..end]);
    }

    public NetlinkAttributes? Nested(ushort type) => _byType.TryGetValue(type, out var v) ? new NetlinkAttributes(v) : null;
}
