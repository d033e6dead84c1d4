using BpfPS.Core.Btf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Events;

/// <summary>
/// Decodes event records as one BTF type through the value codec (the same decoding map entries get). Records are often
/// shorter than their struct (a program sends only the used part of an array): those decode what they cover, members
/// wholly past the end read as null and arrays cut at the end are shortened; nothing past the record is ever read.
/// Records longer than the type (beyond <see cref="TrailingSlack"/>) are refused with
/// <see cref="EventRecordTooLongException"/>: the type is not the record's.
/// </summary>
/// <remarks>Keeps one scratch buffer for short records: use one decoder per reading thread.</remarks>
public sealed class EventDecoder
{
    private readonly BtfValueCodec _codec;
    private readonly byte[] _scratch;
    private readonly CompositeLayout? _layout;

    /// <param name="spec">BTF holding the type.</param>
    /// <param name="typeId">The record's type.</param>
    /// <param name="trailingSlack">Bytes a record may carry beyond the type (perf samples are padded to 8 bytes with their size word).</param>
    public EventDecoder(BtfSpec spec, uint typeId, int trailingSlack = 0)
    {
        _codec = new BtfValueCodec(spec, typeId);
        _scratch = new byte[_codec.Size];
        TrailingSlack = trailingSlack;
        uint resolved = spec.SkipModsAndTypedefs(typeId);
        if (spec.GetType(resolved) is BtfComposite) _layout = CompositeLayout.Get(spec, resolved);
    }

    /// <summary>Bytes of the type.</summary>
    public int Size => _codec.Size;

    /// <summary>"struct event".</summary>
    public string TypeName => _codec.TypeName;

    public BtfSpec Spec => _codec.Spec;
    public uint TypeId => _codec.TypeId;

    /// <summary>Extra bytes tolerated at the end of a record.</summary>
    public int TrailingSlack { get; }

    /// <summary>
    /// Padding a perf event array record of <paramref name="size"/> bytes carries: the kernel rounds the raw sample, with
    /// its 4-byte size word, up to 8 bytes.
    /// </summary>
    public static int PerfPadding(int size) => ((size + 4 + 7) & ~7) - 4 - size;

    /// <summary>
    /// The decoder for the struct, union or typedef named <paramref name="typeName"/> ("event", "struct event",
    /// "union value", "event_t") in <paramref name="spec"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No such type, or it has no size (a forward declaration, a function).</exception>
    public static EventDecoder ForType(BtfSpec spec, string typeName, int trailingSlack = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentException.ThrowIfNullOrWhiteSpace(typeName);
        return new EventDecoder(spec, FindType(spec, typeName), trailingSlack);
    }

    /// <inheritdoc cref="ForType"/>
    public static uint FindType(BtfSpec spec, string typeName)
    {
        string name = typeName.Trim();
        BtfKind? wanted = null;
        if (name.StartsWith("struct ", StringComparison.Ordinal)) (wanted, name) = (BtfKind.Struct, name[7..].Trim());
        else if (name.StartsWith("union ", StringComparison.Ordinal)) (wanted, name) = (BtfKind.Union, name[6..].Trim());
        uint? typedef = null;
        foreach (uint id in spec.FindByName(name))
        {
            var type = spec.GetType(id);
            if (type is BtfComposite composite && (wanted is null || composite.Kind == wanted)) return id;
            if (wanted is null && type is BtfReference { Kind: BtfKind.Typedef } && typedef is null
                && spec.GetType(spec.SkipModsAndTypedefs(id)).Size is > 0)
                typedef = id;
        }
        return typedef ?? throw new ArgumentException(
            $"the BTF of {spec.Source} has no {(wanted is null ? "struct, union or typedef" : wanted.ToString()!.ToLowerInvariant())} named '{name}'");
    }

    /// <summary>Decodes one record (see the class remarks for short and long records).</summary>
    /// <exception cref="EventRecordTooLongException">The record is longer than the type plus <see cref="TrailingSlack"/>.</exception>
    public object? Decode(ReadOnlySpan<byte> record) => Decode(record, null);

    /// <summary>
    /// Decodes one record into an instance of <paramref name="into"/>, the class <see cref="RecordTypes"/> generated
    /// for this decoder's type: straight from the bytes when the class can read them, else through the decoded record;
    /// members typed DateTime go through <paramref name="toTime"/>. Without a class, the decoded value.
    /// </summary>
    /// <exception cref="EventRecordTooLongException">The record is longer than the type plus <see cref="TrailingSlack"/>.</exception>
    public object? Decode(ReadOnlySpan<byte> record, RecordType? into, Func<ulong, DateTime>? toTime = null)
    {
        object? decoded;
        if (record.Length >= Size)
        {
            if (record.Length > Size + TrailingSlack)
                throw new EventRecordTooLongException(TypeName, Size, record.Length);
            if (into is { CanRead: true }) return into.Read(record[..Size], toTime);
            decoded = _codec.Decode(record[..Size]);
        }
        else
        {
            if (into is { CanRead: true }) return into.Read(record, toTime);
            // Short: decode a zero-filled copy, then drop what the record did not cover.
            record.CopyTo(_scratch);
            _scratch.AsSpan(record.Length).Clear();
            decoded = _codec.Decode(_scratch);
            if (decoded is BtfRecord full && _layout is not null) decoded = Trim(full, record.Length);
        }
        return into is not null && decoded is BtfRecord fields ? into.Create(fields, toTime) : decoded;
    }

    private BtfRecord Trim(BtfRecord full, int covered)
    {
        var members = _layout!.Members;
        var values = new object?[members.Length];
        for (int i = 0; i < members.Length; i++)
        {
            var member = members[i];
            object? value = full.TryGetValue(member.Name, out var v) ? v : null;
            long start = member.BitOffset / 8;
            long size = member.IsBitfield ? (member.BitSize + 7) / 8 : Spec.SizeOf(member.TypeId);
            if (start >= covered) value = null;
            else if (start + size > covered) value = Cut(member, value, covered - (int)start);
            values[i] = value;
        }
        return new BtfRecord(_layout, values);
    }

    /// <summary>An array member the record ends inside: only its whole elements within the record.</summary>
    private object? Cut(FlatMember member, object? value, int coveredBytes)
    {
        if (Spec.GetType(Spec.SkipModsAndTypedefs(member.TypeId)) is not BtfArray array || array.Count == 0) return value;
        uint elementSize = Spec.SizeOf(array.ElementTypeId);
        if (elementSize == 0) return value;
        int keep = (int)Math.Min(array.Count, (uint)coveredBytes / elementSize);
        return value switch
        {
            object?[] items => items[..keep],
            byte[] bytes => bytes[..keep],
            _ => value,   // text stops at its NUL anyway
        };
    }
}
