namespace BpfPS.Core.Events;

/// <summary>
/// The header before each record in a BPF ring buffer (kernel and user ring buffers alike): 8 bytes whose first word is
/// the record's length with two flag bits, and records padded to 8 bytes.
/// </summary>
internal static class RingBufferRecord
{
    /// <summary>Set while the producer is still writing the record.</summary>
    public const uint BusyBit = 1u << 31;
    /// <summary>Set when the producer discarded the record: consumers skip it.</summary>
    public const uint DiscardBit = 1u << 30;
    public const int HeaderSize = 8;

    /// <summary>The ring space a record of <paramref name="length"/> bytes takes, header and padding included.</summary>
    public static ulong Footprint(ulong length) => (length + HeaderSize + 7) & ~7ul;
}
