using System.Buffers.Binary;
using System.Reflection;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>Reads one member of a record straight from its bytes (the record may be shorter than the struct).</summary>
public delegate T MemberReader<T>(ReadOnlySpan<byte> record, Func<ulong, DateTime>? toTime);

/// <summary>Reads a value from the start of a span holding at least its bytes.</summary>
internal delegate T SpanReader<T>(ReadOnlySpan<byte> bytes);

public static partial class RecordTypes
{
    /// <summary>
    /// Per-member readers that decode a record straight into a generated instance, with no intermediate
    /// <see cref="BtfRecord"/>: the same values <see cref="BtfValueCodec"/> and <see cref="Events.EventDecoder"/> give
    /// (members wholly past a short record's end null, arrays cut to their whole elements, a member the end cuts through
    /// read as if the rest were zeroes). Scalars, text, byte arrays and integer arrays are read directly; other members
    /// (enums, nested records, arrays of them) through the codec. Bitfields are not read this way: a composite with one
    /// converts from its decoded record instead (<see cref="Readers"/> returns null).
    /// </summary>
    private static class Readers
    {
        public static Delegate[]? For(BtfSpec spec, CompositeLayout layout, Type[] valueTypes, Type[] propertyTypes,
            Func<object?, object?>?[] converters, bool[] isTime)
        {
            var readers = new Delegate[layout.Members.Length];
            int structSize = (int)layout.Size;
            for (int i = 0; i < readers.Length; i++)
            {
                var member = layout.Members[i];
                if (member.IsBitfield || member.BitOffset % 8 != 0) return null;
                int offset = (int)(member.BitOffset / 8), size = (int)spec.SizeOf(member.TypeId);
                readers[i] = isTime[i] ? Time(offset, structSize)
                    : Direct(spec, member.TypeId, offset, size, structSize, valueTypes[i])
                      ?? (Delegate)s_fallback.MakeGenericMethod(propertyTypes[i])
                          .Invoke(null, [spec, member.TypeId, offset, size, structSize, converters[i]])!;
            }
            return readers;
        }

        private static readonly MethodInfo s_fallback = typeof(Readers).GetMethod(nameof(Fallback), BindingFlags.NonPublic | BindingFlags.Static)!;

        /// <summary>True when a record shorter than the struct ends at or before the member (which is then null).</summary>
        private static bool Missing(int length, int offset, int structSize) => length < structSize && offset >= length;

        /// <summary>The member's bytes, zero-filled past the record's end.</summary>
        private static ReadOnlySpan<byte> Bytes(ReadOnlySpan<byte> record, int offset, int size)
        {
            if (record.Length >= offset + size) return record.Slice(offset, size);
            var padded = new byte[size];
            record[offset..].CopyTo(padded);
            return padded;
        }

        private static MemberReader<T?> Scalar<T>(int offset, int size, int structSize, SpanReader<T> read) where T : struct =>
            (record, _) => Missing(record.Length, offset, structSize) ? null : read(Bytes(record, offset, size));

        private static MemberReader<DateTime?> Time(int offset, int structSize) =>
            (record, toTime) => Missing(record.Length, offset, structSize)
                ? null
                : toTime!(BinaryPrimitives.ReadUInt64LittleEndian(Bytes(record, offset, 8)));

        /// <summary>Elements wholly inside the record.</summary>
        private static int Kept(int length, int offset, uint count, int elementSize) =>
            (int)Math.Min(count, (uint)Math.Max(0, length - offset) / (uint)elementSize);

        private static MemberReader<T[]?> IntArray<T>(int offset, uint count, int elementSize, int structSize, SpanReader<T> read) =>
            (record, _) =>
            {
                if (Missing(record.Length, offset, structSize)) return null;
                var result = new T[Kept(record.Length, offset, count, elementSize)];
                for (int i = 0; i < result.Length; i++) result[i] = read(record.Slice(offset + i * elementSize));
                return result;
            };

        private static Delegate? Direct(BtfSpec spec, uint typeId, int offset, int size, int structSize, Type valueType)
        {
            uint id = spec.SkipModsAndTypedefs(typeId);
            switch (spec.GetType(id))
            {
                case BtfInt integer when integer.BitOffset == 0 && integer.Bits == integer.ByteSize * 8:
                    return Int(integer, valueType, offset, size, structSize);
                case BtfFloat when valueType == typeof(float):
                    return Scalar(offset, size, structSize, BinaryPrimitives.ReadSingleLittleEndian);
                case BtfFloat when valueType == typeof(double):
                    return Scalar(offset, size, structSize, BinaryPrimitives.ReadDoubleLittleEndian);
                case BtfFloat when valueType == typeof(Half):
                    return Scalar(offset, size, structSize, BinaryPrimitives.ReadHalfLittleEndian);
                case BtfReference { Kind: BtfKind.Pointer }:
                    return Scalar(offset, size, structSize, BinaryPrimitives.ReadUInt64LittleEndian);
                case BtfArray array when valueType == typeof(string):
                    uint chars = array.Count;
                    return (MemberReader<string?>)((record, _) =>
                    {
                        if (Missing(record.Length, offset, structSize)) return null;
                        var text = record.Slice(offset, Kept(record.Length, offset, chars, 1));
                        int end = text.IndexOf((byte)0);
                        return Encoding.UTF8.GetString(end < 0 ? text : text[..end]);
                    });
                case BtfArray array when valueType == typeof(byte[]):
                    uint bytes = array.Count;
                    return (MemberReader<byte[]?>)((record, _) => Missing(record.Length, offset, structSize)
                        ? null
                        : record.Slice(offset, Kept(record.Length, offset, bytes, 1)).ToArray());
                case BtfArray array when spec.GetType(spec.SkipModsAndTypedefs(array.ElementTypeId)) is BtfInt element
                                         && element.BitOffset == 0 && element.Bits == element.ByteSize * 8
                                         && !BtfValueCodec.IsBool(element) && element.ByteSize is 1 or 2 or 4 or 8:
                    int elementSize = (int)element.ByteSize;
                    return (element.ByteSize, element.IsSigned) switch
                    {
                        (1, _) => IntArray(offset, array.Count, 1, structSize, b => (sbyte)b[0]),
                        (2, true) => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadInt16LittleEndian),
                        (2, false) => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadUInt16LittleEndian),
                        (4, true) => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadInt32LittleEndian),
                        (4, false) => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadUInt32LittleEndian),
                        (8, true) => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadInt64LittleEndian),
                        _ => IntArray(offset, array.Count, elementSize, structSize, BinaryPrimitives.ReadUInt64LittleEndian),
                    };
                default:
                    return null;
            }
        }

        private static Delegate? Int(BtfInt type, Type valueType, int offset, int size, int structSize)
        {
            if (valueType == typeof(bool)) return Scalar(offset, size, structSize, b => b[..size].ContainsAnyExcept((byte)0));
            if (valueType == typeof(sbyte)) return Scalar(offset, size, structSize, b => (sbyte)b[0]);
            if (valueType == typeof(byte)) return Scalar(offset, size, structSize, b => b[0]);
            if (valueType == typeof(short)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadInt16LittleEndian);
            if (valueType == typeof(ushort)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadUInt16LittleEndian);
            if (valueType == typeof(int)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadInt32LittleEndian);
            if (valueType == typeof(uint)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadUInt32LittleEndian);
            if (valueType == typeof(long)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadInt64LittleEndian);
            if (valueType == typeof(ulong)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadUInt64LittleEndian);
            if (valueType == typeof(Int128)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadInt128LittleEndian);
            if (valueType == typeof(UInt128)) return Scalar(offset, size, structSize, BinaryPrimitives.ReadUInt128LittleEndian);
            _ = type;
            return null;
        }

        /// <summary>Any other whole-byte member: decoded by the codec, cut as a short record cuts it, then converted.</summary>
        private static MemberReader<T> Fallback<T>(BtfSpec spec, uint typeId, int offset, int size, int structSize, Func<object?, object?>? convert)
        {
            var codec = new BtfValueCodec(spec, typeId);
            uint elementSize = 0, count = 0;
            if (spec.GetType(spec.SkipModsAndTypedefs(typeId)) is BtfArray array)
                (elementSize, count) = (spec.SizeOf(array.ElementTypeId), array.Count);
            return (record, _) =>
            {
                if (Missing(record.Length, offset, structSize)) return default!;
                object? value = codec.Decode(Bytes(record, offset, size));
                if (record.Length < offset + size && elementSize > 0)
                {
                    int keep = Kept(record.Length, offset, count, (int)elementSize);
                    value = value switch
                    {
                        object?[] items => items[..keep],
                        byte[] raw => raw[..keep],
                        _ => value,
                    };
                }
                if (convert is not null && value is not null) value = convert(value);
                return (T)value!;
            };
        }
    }
}
