using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>
/// Turns the bytes of a map key or value into plain .NET values and back. With BTF the value is decoded by its type
/// (<see cref="BtfValueCodec"/>); without it the bytes stay bytes (<see cref="RawValueCodec"/>).
/// </summary>
public abstract class ValueCodec
{
    private protected ValueCodec(int size) => Size = size;

    /// <summary>Bytes of one value.</summary>
    public int Size { get; }

    /// <summary>How the type reads in messages ("struct event", "byte[4]").</summary>
    public abstract string TypeName { get; }

    /// <summary>Decodes exactly <see cref="Size"/> bytes.</summary>
    /// <exception cref="ArgumentException"><paramref name="bytes"/> is not <see cref="Size"/> long.</exception>
    /// <exception cref="BpfFormatException">The BTF describing the value is malformed.</exception>
    public abstract object? Decode(ReadOnlySpan<byte> bytes);

    /// <summary>
    /// Encodes <paramref name="value"/> into <paramref name="destination"/> (exactly <see cref="Size"/> bytes). The
    /// destination is cleared first: what the value leaves out is zero, like a C initializer.
    /// </summary>
    /// <param name="value">The value: see the concrete codec for what it accepts; null means all zeroes.</param>
    /// <param name="destination">Exactly <see cref="Size"/> bytes.</param>
    /// <param name="path">Names the value in error messages ("key", "value").</param>
    /// <param name="adapter">Unwraps caller-specific objects (PowerShell's PSObject) before each part is read.</param>
    /// <exception cref="BtfValueException">The value does not fit the type; the message names the part at fault.</exception>
    public abstract void Encode(object? value, Span<byte> destination, string path = "value", ValueAdapter? adapter = null);

    /// <summary><see cref="Encode(object?, Span{byte}, string, ValueAdapter?)"/> into a new array.</summary>
    public byte[] Encode(object? value, string path = "value", ValueAdapter? adapter = null)
    {
        var bytes = new byte[Size];
        Encode(value, bytes, path, adapter);
        return bytes;
    }

    /// <summary>
    /// The codec for a key or value of <paramref name="size"/> bytes: by BTF type when <paramref name="btf"/> and a
    /// non-zero <paramref name="typeId"/> are given and the type has that size, else raw bytes (also when the BTF
    /// cannot size the type).
    /// </summary>
    public static ValueCodec Create(BtfSpec? btf, uint typeId, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        if (btf is not null && typeId != 0)
        {
            try
            {
                if (btf.TryGetType(typeId, out _) && btf.SizeOf(typeId) == (uint)size)
                    return new BtfValueCodec(btf, typeId);
            }
            catch (BpfFormatException)
            {
                // A type BTF cannot size (malformed, or void/forward): the bytes are still readable as bytes.
            }
        }
        // No BTF, or BTF that disagrees with the kernel's size (the kernel checks this at create time, so only a
        // mismatched spec gets here): bytes are the honest representation.
        return new RawValueCodec(size);
    }

    /// <summary>
    /// The key of an array-like map (array, per-CPU array, prog and map-in-map arrays): always a 32-bit index, even when the
    /// map has no key BTF (global data maps such as .rodata have none), so it reads as a number rather than four bytes.
    /// </summary>
    public static ValueCodec ArrayIndex => s_arrayIndex.Value;

    private static readonly Lazy<ValueCodec> s_arrayIndex = new(() =>
    {
        var btf = new BtfBuilder();
        uint u32 = btf.AddInt("__u32", 4);
        return new BtfValueCodec(btf.BuildSpec("array index"), u32);
    });

    private protected void CheckLength(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Size)
            throw new ArgumentException($"{TypeName} is {Size} bytes, got {bytes.Length}", nameof(bytes));
    }

    private protected void CheckLength(Span<byte> destination)
    {
        if (destination.Length != Size)
            throw new ArgumentException($"{TypeName} is {Size} bytes, the destination holds {destination.Length}", nameof(destination));
    }
}
