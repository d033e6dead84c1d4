using System.Buffers.Binary;
using System.Text;

namespace BpfPS.Core.Netlink;

/// <summary>
/// Builds one netlink request: the 16-byte nlmsghdr, a fixed family header, then 4-byte aligned attributes
/// (struct nlattr: u16 length, u16 type), nested ones included.
/// </summary>
internal sealed class NetlinkMessageWriter
{
    public const ushort FlagRequest = 0x1, FlagAck = 0x4, FlagReplace = 0x100, FlagExclusive = 0x200, FlagCreate = 0x400, FlagDump = 0x300;
    public const ushort AttrNested = 0x8000;

    private byte[] _buffer = new byte[256];
    private int _length;
    private readonly Stack<int> _nests = new();

    public NetlinkMessageWriter(ushort type, ushort flags)
    {
        _length = 16;
        Flags = flags;
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(4), type);
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(6), flags);
    }

    /// <summary>The NLM_F_* flags of the request.</summary>
    public ushort Flags { get; }

    /// <summary>Appends the family header (ifinfomsg, tcmsg...) as raw bytes.</summary>
    public void Header(ReadOnlySpan<byte> header) => Append(header);

    public void U8(ushort type, byte value) => Attribute(type, [value]);
    public void U16(ushort type, ushort value) { Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, value); Attribute(type, b); }
    public void U32(ushort type, uint value) { Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, value); Attribute(type, b); }
    public void S32(ushort type, int value) => U32(type, unchecked((uint)value));

    /// <summary>A NUL-terminated string attribute.</summary>
    public void String(ushort type, string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value + "\0");
        Attribute(type, bytes);
    }

    public void Attribute(ushort type, ReadOnlySpan<byte> payload)
    {
        Align();
        Span<byte> head = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(head, (ushort)(4 + payload.Length));
        BinaryPrimitives.WriteUInt16LittleEndian(head[2..], type);
        Append(head);
        Append(payload);
    }

    /// <summary>Opens a nested attribute; close it with <see cref="EndNested"/>.</summary>
    public void BeginNested(ushort type)
    {
        Align();
        _nests.Push(_length);
        Span<byte> head = stackalloc byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(head[2..], (ushort)(type | AttrNested));
        Append(head);
    }

    public void EndNested()
    {
        int start = _nests.Pop();
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.AsSpan(start), (ushort)(_length - start));
    }

    /// <summary>The finished message with its length and sequence number filled in.</summary>
    public byte[] ToArray(uint sequence)
    {
        if (_nests.Count != 0) throw new InvalidOperationException("unclosed nested netlink attribute");
        Align();
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer, (uint)_length);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(8), sequence);
        return _buffer.AsSpan(0, _length).ToArray();
    }

    private void Align()
    {
        int aligned = (_length + 3) & ~3;
        if (aligned != _length) Append(new byte[aligned - _length]);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        if (_length + bytes.Length > _buffer.Length)
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + bytes.Length));
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }
}
