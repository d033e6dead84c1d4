using System.Collections;
using System.Numerics;

namespace BpfPS.Core.Values;

/// <summary>
/// The codec for keys and values without BTF (legacy maps, maps created without type information): decodes to a copy
/// of the bytes. Encodes from a byte[] (or a sequence of byte values) of exactly the right length, or, for sizes of 1, 2,
/// 4, 8 and 16 bytes, from an integer written little-endian (signed or unsigned: without BTF the signedness is unknown,
/// so both readings are accepted).
/// </summary>
public sealed class RawValueCodec : ValueCodec
{
    public RawValueCodec(int size) : base(size) { }

    public override string TypeName => $"byte[{Size}]";

    public override object? Decode(ReadOnlySpan<byte> bytes)
    {
        CheckLength(bytes);
        return bytes.ToArray();
    }

    public override void Encode(object? value, Span<byte> destination, string path = "value", ValueAdapter? adapter = null)
    {
        CheckLength(destination);
        destination.Clear();
        if (value is not null && adapter is not null) value = adapter(value);
        switch (value)
        {
            case null:
                return;
            case byte[] bytes:
                if (bytes.Length != Size)
                    throw new BtfValueException(path, $"{bytes.Length} bytes given, {TypeName} needs exactly {Size}");
                bytes.CopyTo(destination);
                return;
            case var _ when ValueConversion.TryGetInteger(value, out var integer):
                WriteInteger(integer, destination, path);
                return;
            case IEnumerable items when ValueConversion.IsSequence(value):
                WriteBytes(items, destination, path, adapter);
                return;
            default:
                throw new BtfValueException(path, $"{TypeName} (no BTF) takes a byte[] or an integer, got {ValueConversion.TypeOf(value)}");
        }
    }

    private void WriteInteger(BigInteger integer, Span<byte> destination, string path)
    {
        if (Size is not (1 or 2 or 4 or 8 or 16))
            throw new BtfValueException(path, $"{TypeName} (no BTF) cannot be given as a number; pass a byte[] of {Size} bytes");
        int bits = Size * 8;
        var (signedMin, _) = ValueConversion.Range(bits, signed: true);
        var (_, unsignedMax) = ValueConversion.Range(bits, signed: false);
        if (integer < signedMin || integer > unsignedMax)
            throw new BtfValueException(path, $"{integer} does not fit in {Size} bytes");
        var raw = ValueConversion.ToBits(integer, bits);
        for (int i = 0; i < Size; i++)
            destination[i] = (byte)(raw >> (8 * i));
    }

    private void WriteBytes(IEnumerable items, Span<byte> destination, string path, ValueAdapter? adapter)
    {
        int i = 0;
        foreach (var item in items)
        {
            if (i == Size)
                throw new BtfValueException(path, $"more than {Size} elements given, {TypeName} needs exactly {Size}");
            object? element = item is not null && adapter is not null ? adapter(item) : item;
            if (element is null || !ValueConversion.TryGetInteger(element, out var b) || b < 0 || b > 255)
                throw new BtfValueException($"{path}[{i}]", $"expected a byte (0..255), got {Describe(element)}");
            destination[i++] = (byte)b;
        }
        if (i != Size)
            throw new BtfValueException(path, $"{i} elements given, {TypeName} needs exactly {Size}");
    }

    private static string Describe(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";
}
