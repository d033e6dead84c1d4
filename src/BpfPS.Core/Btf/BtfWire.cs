using System.Buffers.Binary;

namespace BpfPS.Core.Btf;

/// <summary>
/// Facts about the BTF wire format (kernel Documentation/bpf/btf.rst, uapi/linux/btf.h) shared by the readers:
/// header layout, the 12-byte btf_type, and how many bytes follow each kind.
/// </summary>
internal static class BtfWire
{
    public const ushort Magic = 0xEB9F;
    public const ushort MagicSwapped = 0x9FEB;
    public const byte Version = 1;
    /// <summary>sizeof(struct btf_header): magic, version, flags, hdr_len, type_off, type_len, str_off, str_len.</summary>
    public const int HeaderSize = 24;
    /// <summary>sizeof(struct btf_type): name_off, info, size_or_type.</summary>
    public const int TypeSize = 12;

    public const string HeaderPart = "BTF header";
    public const string TypePart = "BTF type section";
    public const string StringPart = "BTF string section";

    public static BtfKind Kind(uint info) => (BtfKind)((info >> 24) & 0x1f);
    public static int Vlen(uint info) => (int)(info & 0xffff);
    public static bool KindFlag(uint info) => (info & 0x8000_0000) != 0;

    /// <summary>Marks a kind in <see cref="FixedTrailingBytes"/> that BTF does not define.</summary>
    public const byte UnknownKind = 0xff;

    /// <summary>Per kind (0..31): bytes after the btf_type regardless of vlen, or <see cref="UnknownKind"/>.</summary>
    public static ReadOnlySpan<byte> FixedTrailingBytes =>
    [
        0xff, 4, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 4, 0, 0,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    ];

    /// <summary>Per kind (0..31): bytes after the btf_type for each of its vlen entries.</summary>
    public static ReadOnlySpan<byte> TrailingBytesPerEntry =>
    [
        0, 0, 0, 0, 12, 12, 8, 0, 0, 0, 0, 0, 0, 8, 0, 12, 0, 0, 0, 12,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    public static uint U32(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt32LittleEndian(s.Slice(at, 4));
    public static ushort U16(ReadOnlySpan<byte> s, int at) => BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(at, 2));
}
