using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>
/// Decodes the bytes of a BTF-typed value into plain .NET values and encodes them back. Pure: no syscalls.
/// </summary>
/// <remarks>
/// Decoding: ints by width and signedness (sbyte … Int128, bool for _Bool), char arrays as strings up to the first
/// NUL, unsigned byte arrays as byte[], other arrays as object?[], structs, unions and data sections as
/// <see cref="BtfRecord"/> with anonymous members flattened, bitfields extracted, enums as the enumerator's name when
/// the value matches one (else the number), pointers as ulong, floats as Half/float/double; typedefs and qualifiers
/// are looked through. Encoding accepts dictionaries (hashtables, records) for composites, sequences for arrays,
/// strings for char arrays and enum names, any .NET number or numeric string for integers, and a byte[] of exactly
/// the type's size for anything. Whatever does not fit is refused with a <see cref="BtfValueException"/> naming the
/// part at fault. Nesting is bounded by <see cref="MaxDepth"/>.
/// </remarks>
public sealed partial class BtfValueCodec : ValueCodec
{
    /// <summary>Values nested deeper than this are treated as malformed BTF (a cycle through arrays or members).</summary>
    public const int MaxDepth = 64;

    private string? _typeName;

    /// <summary>A codec for values of type <paramref name="typeId"/> in <paramref name="spec"/>.</summary>
    /// <exception cref="BpfFormatException">The type has no size (void, function, forward declaration) or is malformed.</exception>
    public BtfValueCodec(BtfSpec spec, uint typeId) : base(SizeOf(spec, typeId))
    {
        Spec = spec;
        TypeId = typeId;
    }

    public BtfSpec Spec { get; }
    public uint TypeId { get; }

    public override string TypeName => _typeName ??= BtfTypeDisplay.Describe(Spec, TypeId);

    /// <summary>Decodes a value of type <paramref name="typeId"/>; see <see cref="BtfValueCodec"/> for the mapping.</summary>
    public static object? Decode(BtfSpec spec, uint typeId, ReadOnlySpan<byte> bytes) => new BtfValueCodec(spec, typeId).Decode(bytes);

    /// <summary>Encodes a value of type <paramref name="typeId"/> into a new array of the type's size.</summary>
    public static byte[] Encode(BtfSpec spec, uint typeId, object? value, string path = "value", ValueAdapter? adapter = null) =>
        new BtfValueCodec(spec, typeId).Encode(value, path, adapter);

    public override object? Decode(ReadOnlySpan<byte> bytes)
    {
        CheckLength(bytes);
        return DecodeValue(TypeId, bytes, 0);
    }

    public override void Encode(object? value, Span<byte> destination, string path = "value", ValueAdapter? adapter = null)
    {
        CheckLength(destination);
        destination.Clear();
        EncodeValue(TypeId, value, destination, path, 0, adapter);
    }

    /// <summary>The type's size, which must fit a .NET span (a map value is at most a few megabytes anyway).</summary>
    private static int SizeOf(BtfSpec spec, uint typeId)
    {
        ArgumentNullException.ThrowIfNull(spec);
        uint size = spec.SizeOf(typeId);
        return size <= int.MaxValue
            ? (int)size
            : throw new BpfFormatException($"type [{typeId}] is {size} bytes, too large for a value", spec.Source, "BTF type section");
    }

    private string Describe(uint typeId) => BtfTypeDisplay.Describe(Spec, typeId);

    private BpfFormatException Malformed(string message) => new(message, Spec.Source, "BTF type section");

    private BpfFormatException TooDeep() =>
        Malformed($"{TypeName}: value nests more than {MaxDepth} levels (a cycle?)");

    /// <summary>Plain char (named "char" or with the BTF char encoding): arrays of it read as text.</summary>
    internal static bool IsCharacter(BtfInt type) =>
        type.ByteSize == 1 && ((type.Encoding & BtfIntEncoding.Char) != 0 || type.Name == "char");

    internal static bool IsBool(BtfInt type) => (type.Encoding & BtfIntEncoding.Bool) != 0;
}
