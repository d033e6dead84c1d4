using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

// Bytes -> .NET values.
public sealed partial class BtfValueCodec
{
    /// <summary>Elements of a zero-sized type in one array beyond this are malformed (they would cost memory but hold no bytes).</summary>
    private const uint MaxEmptyElements = 1 << 16;

    private object? DecodeValue(uint typeId, ReadOnlySpan<byte> bytes, int depth)
    {
        if (depth > MaxDepth) throw TooDeep();
        uint id = Spec.SkipModsAndTypedefs(typeId);
        switch (Spec.GetType(id))
        {
            case BtfInt integer:
                return DecodeInt(integer, bytes);
            case BtfFloat number:
                Need(bytes, number.ByteSize, id);
                return DecodeFloat(number, bytes);
            case BtfReference { Kind: BtfKind.Pointer }:
                Need(bytes, 8, id);
                return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            case BtfEnum enumeration:
                Need(bytes, enumeration.ByteSize, id);
                return DecodeEnum(enumeration, ReadLittleEndian(bytes, CheckedEnumSize(enumeration)), (int)enumeration.ByteSize * 8);
            case BtfArray array:
                return DecodeArray(array, bytes, depth);
            case BtfComposite or BtfDatasec:
                return DecodeRecord(id, bytes, depth);
            case BtfVar variable:
                return DecodeValue(variable.TypeId, bytes, depth + 1);
            case var other:
                throw Malformed($"{TypeName}: {Describe(other.Id)} ({other.Kind}) holds no value");
        }
    }

    private object DecodeInt(BtfInt type, ReadOnlySpan<byte> bytes)
    {
        int size = CheckedIntSize(type);
        Need(bytes, (uint)size, type.Id);
        // Ints may carry their own bit offset and width (the old way of encoding bitfields).
        if (type.BitOffset == 0 && type.Bits == size * 8)
            return BoxInteger(type, ReadLittleEndian(bytes, size), size * 8);
        int bits = CheckedIntBits(type);
        return BoxInteger(type, BitFields.Read(bytes, type.BitOffset, bits), bits);
    }

    private static object DecodeFloat(BtfFloat type, ReadOnlySpan<byte> bytes) => type.ByteSize switch
    {
        2 => BinaryPrimitives.ReadHalfLittleEndian(bytes),
        4 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
        8 => BinaryPrimitives.ReadDoubleLittleEndian(bytes),
        // long double and friends have no .NET equivalent: keep the bytes.
        _ => bytes[..(int)type.ByteSize].ToArray(),
    };

    private object DecodeEnum(BtfEnum type, UInt128 raw, int bits)
    {
        var mask = BitFields.Mask(bits);
        foreach (var enumerator in type.Values)
            if (((UInt128)(ulong)enumerator.Value & mask) == raw)
                return enumerator.Name;
        raw = type.IsSigned ? BitFields.SignExtend(raw, bits) : raw;
        return BoxBySize((int)type.ByteSize, type.IsSigned, raw);
    }

    private object DecodeArray(BtfArray array, ReadOnlySpan<byte> bytes, int depth)
    {
        uint elementId = Spec.SkipModsAndTypedefs(array.ElementTypeId);
        uint elementSize = Spec.SizeOf(elementId);
        ulong total = (ulong)array.Count * elementSize;
        if (total > (ulong)bytes.Length)
            throw Malformed($"{TypeName}: {Describe(array.Id)} needs {total} bytes, only {bytes.Length} are there");
        var element = Spec.GetType(elementId);
        if (element is BtfInt { ByteSize: 1 } small && small.Bits == 8 && small.BitOffset == 0 && !IsBool(small))
        {
            var content = bytes[..(int)array.Count];
            if (IsCharacter(small))
            {
                int end = content.IndexOf((byte)0);
                return Encoding.UTF8.GetString(end < 0 ? content : content[..end]);
            }
            if (!small.IsSigned)
                return content.ToArray();
        }
        if (elementSize == 0 && array.Count > MaxEmptyElements)
            throw Malformed($"{TypeName}: {Describe(array.Id)} has {array.Count} elements of a zero-sized type");
        var items = new object?[array.Count];
        for (int i = 0; i < items.Length; i++)
            items[i] = DecodeValue(elementId, bytes.Slice(i * (int)elementSize, (int)elementSize), depth + 1);
        return items;
    }

    private BtfRecord DecodeRecord(uint id, ReadOnlySpan<byte> bytes, int depth)
    {
        var layout = CompositeLayout.Get(Spec, id);
        Need(bytes, layout.Size, id);
        var values = new object?[layout.Members.Length];
        for (int i = 0; i < values.Length; i++)
        {
            var member = layout.Members[i];
            if (member.IsBitfield || member.BitOffset % 8 != 0)
            {
                values[i] = DecodeBitfield(member, bytes);
                continue;
            }
            values[i] = DecodeValue(member.TypeId, MemberBytes(bytes, member), depth + 1);
        }
        return new BtfRecord(layout, values);
    }

    /// <summary>
    /// A whole-byte member's bytes. CompositeLayout already placed every member inside its composite; checking again
    /// here keeps a layout bug from ever becoming an out-of-range slice.
    /// </summary>
    private ReadOnlySpan<byte> MemberBytes(ReadOnlySpan<byte> bytes, FlatMember member)
    {
        ulong offset = member.BitOffset / 8, size = Spec.SizeOf(member.TypeId);
        if (offset + size > (ulong)bytes.Length)
            throw Malformed($"{TypeName}: member '{member.Name}' ({size} bytes at offset {offset}) lies outside the {bytes.Length}-byte value");
        return bytes.Slice((int)offset, (int)size);
    }

    private object DecodeBitfield(FlatMember member, ReadOnlySpan<byte> bytes)
    {
        var (type, offset, bits) = ResolveBitfield(member, bytes.Length);
        var raw = BitFields.Read(bytes, offset, bits);
        return type switch
        {
            BtfInt integer => BoxInteger(integer, raw, bits),
            BtfEnum enumeration => DecodeEnum(enumeration, raw, bits),
            _ => throw new InvalidOperationException("unreachable: ResolveBitfield returns ints and enums"),
        };
    }

    /// <summary>A bitfield's underlying int or enum, absolute bit offset and width, checked against the bytes.</summary>
    private (BtfType Type, int Offset, int Bits) ResolveBitfield(FlatMember member, int byteLength)
    {
        uint id = Spec.SkipModsAndTypedefs(member.TypeId);
        var type = Spec.GetType(id);
        ulong offset = member.BitOffset;
        int bits;
        uint storage;
        switch (type)
        {
            case BtfInt integer:
                storage = (uint)CheckedIntSize(integer);
                if (member.IsBitfield)
                    bits = (int)member.BitSize;
                else
                {
                    bits = CheckedIntBits(integer);
                    offset += integer.BitOffset;
                }
                break;
            case BtfEnum enumeration:
                storage = (uint)CheckedEnumSize(enumeration);
                bits = member.IsBitfield ? (int)member.BitSize : (int)storage * 8;
                break;
            default:
                throw Malformed($"{TypeName}: bitfield '{member.Name}' has type {Describe(id)}, not an integer or enum");
        }
        if (bits > storage * 8)
            throw Malformed($"{TypeName}: bitfield '{member.Name}' is {bits} bits wide, wider than its {storage}-byte type");
        if (BitFields.BytesSpanned(offset, bits) > (ulong)byteLength)
            throw Malformed($"{TypeName}: bitfield '{member.Name}' ({bits} bits at bit {offset}) lies outside the value");
        return (type, (int)offset, bits);
    }

    private static object BoxInteger(BtfInt type, UInt128 raw, int bits)
    {
        if (IsBool(type))
            return raw != 0;
        if (type.IsSigned)
            raw = BitFields.SignExtend(raw, bits);
        return BoxBySize((int)type.ByteSize, type.IsSigned, raw);
    }

    /// <summary>The .NET integer of the C type's width: sbyte/byte … Int128/UInt128.</summary>
    private static object BoxBySize(int size, bool signed, UInt128 raw) => (size, signed) switch
    {
        (1, true) => (sbyte)(byte)raw,
        (1, false) => (byte)raw,
        (2, true) => (short)(ushort)raw,
        (2, false) => (ushort)raw,
        (4, true) => (int)(uint)raw,
        (4, false) => (uint)raw,
        (8, true) => (long)(ulong)raw,
        (8, false) => (ulong)raw,
        (_, true) => (Int128)raw,
        _ => raw,
    };

    private int CheckedIntSize(BtfInt type) => type.ByteSize is 1 or 2 or 4 or 8 or 16
        ? (int)type.ByteSize
        : throw Malformed($"{TypeName}: int {Describe(type.Id)} has size {type.ByteSize}; BTF ints are 1, 2, 4, 8 or 16 bytes");

    private int CheckedIntBits(BtfInt type) => type.Bits != 0 && type.BitOffset + type.Bits <= CheckedIntSize(type) * 8
        ? type.Bits
        : throw Malformed($"{TypeName}: int {Describe(type.Id)} has {type.Bits} bits at bit {type.BitOffset}, outside its {type.ByteSize} bytes");

    private int CheckedEnumSize(BtfEnum type) => type.ByteSize is 1 or 2 or 4 or 8
        ? (int)type.ByteSize
        : throw Malformed($"{TypeName}: {Describe(type.Id)} has size {type.ByteSize}; enums are 1, 2, 4 or 8 bytes");

    private static UInt128 ReadLittleEndian(ReadOnlySpan<byte> bytes, int size)
    {
        UInt128 value = 0;
        for (int i = size - 1; i >= 0; i--)
            value = (value << 8) | bytes[i];
        return value;
    }

    private void Need(ReadOnlySpan<byte> bytes, uint size, uint typeId)
    {
        if ((uint)bytes.Length < size)
            throw Malformed($"{TypeName}: {Describe(typeId)} needs {size} bytes, only {bytes.Length} are there");
    }
}
