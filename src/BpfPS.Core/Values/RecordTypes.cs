using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Collections.Specialized;
using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>
/// Generated .NET classes for BTF structs and unions: decoded records become instances with one typed property per
/// member, which shells and pipelines handle much faster than property bags, and whose members show their real types.
/// One class per (spec, type, time members), built on first use and kept while the spec lives (the classes live in
/// collectible assemblies, so they go when the spec does).
/// </summary>
/// <remarks>
/// Member types follow what <see cref="BtfValueCodec"/> decodes: integers by width and signedness, bool, Half, float,
/// double, ulong pointers, string for char arrays, byte[] for unsigned byte arrays, typed arrays (uint[], nested
/// classes, ...), nested structs and unions as their own generated classes, object for enums (the enumerator's name,
/// or the number when none matches). Value-typed members are nullable: a record shorter than its struct leaves the
/// members past its end null. A composite whose member names differ only in case (legal in C, not in a
/// case-insensitive shell) gets no class: <see cref="For"/> returns null and callers keep the <see cref="BtfRecord"/>;
/// such a composite nested in another stays a <see cref="BtfRecord"/> in a member typed object. Instances are read
/// straight from a record's bytes (<see cref="RecordType.Read"/>) or converted from its decoded form
/// (<see cref="RecordType.Create"/>), with the same values either way.
/// </remarks>
public static partial class RecordTypes
{
    /// <summary>The namespace of the generated classes: struct event becomes BpfPS.Records.event.</summary>
    public const string Namespace = "BpfPS.Records";

    private static readonly ConditionalWeakTable<BtfSpec, Emitter> s_emitters = new();

    // Emitters by BTF content: loading the same object again gives a new spec with the same bytes, and its records must
    // reuse the classes already made. A generated class is never unloaded once PowerShell has seen it (its member caches
    // hold the type), so one emitter per load would grow the process with every collection received from.
    private static readonly ConcurrentDictionary<(Hash128 Bytes, BtfSpec? Base), Emitter> s_byContent = new();

    /// <summary>
    /// The generated class for struct or union <paramref name="typeId"/> (typedefs and qualifiers looked through), with
    /// the members named in <paramref name="timeMembers"/> (any case; only unsigned 64-bit ones count) typed
    /// <see cref="DateTime"/> for <see cref="RecordType.Create"/>'s clock; null for other kinds of type, composites whose
    /// member names differ only in case, and malformed ones.
    /// </summary>
    public static RecordType? For(BtfSpec spec, uint typeId, IReadOnlyCollection<string>? timeMembers = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        uint id = spec.SkipModsAndTypedefs(typeId);
        if (spec.GetType(id) is not BtfComposite) return null;
        string preferred = spec.GetType(id).Name is { Length: > 0 } own ? own
            : spec.GetType(typeId).Name is { Length: > 0 } alias ? alias : "record";
        var time = timeMembers is { Count: > 0 }
            ? timeMembers.Select(n => n.Trim()).Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToArray()
            : [];
        return s_emitters.GetValue(spec, EmitterFor).Get(id, preferred, time);
    }

    private static Emitter EmitterFor(BtfSpec spec) =>
        s_byContent.GetOrAdd((Hash128.Of(spec.RawBytes.Span), spec.Base), _ => new Emitter(spec));

    /// <summary>SHA-256 of a spec's bytes, cut to 128 bits: equal bytes, equal types.</summary>
    private readonly record struct Hash128(ulong Low, ulong High)
    {
        public static Hash128 Of(ReadOnlySpan<byte> bytes)
        {
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(bytes, digest);
            return new Hash128(BinaryPrimitives.ReadUInt64LittleEndian(digest), BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]));
        }
    }

    /// <summary>
    /// The record's members as an ordered name → value dictionary, the shape <see cref="BtfValueCodec"/> encodes
    /// (nested records stay objects: the encoder's adapter meets them again as it descends).
    /// </summary>
    public static OrderedDictionary ToDictionary(RecordObject record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var names = record.GetRecordType().Names;
        var values = record.GetValues();
        var result = new OrderedDictionary(names.Length, StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < values.Length; i++) result[names[i]] = values[i];
        return result;
    }
}

/// <summary>A generated record class: its .NET type, and the conversion of decoded records into instances.</summary>
public sealed class RecordType
{
    private readonly RecordObject _prototype;
    private readonly Func<object?, object?>?[]? _converters;
    private readonly int[] _timeIndexes;

    internal RecordType(Type type, string cTypeName, uint size, ImmutableArray<string> names, Func<object?, object?>?[]? converters,
        int[] timeIndexes, bool canRead)
    {
        Type = type;
        Size = (int)size;
        CanRead = canRead;
        CTypeName = cTypeName;
        Names = names;
        _converters = converters;
        _timeIndexes = timeIndexes;
        _prototype = (RecordObject)Activator.CreateInstance(type)!;
    }

    /// <summary>The generated class (BpfPS.Records.event).</summary>
    public Type Type { get; }

    /// <summary>The C type: "struct event".</summary>
    public string CTypeName { get; }

    /// <summary>Bytes of the C type.</summary>
    public int Size { get; }

    /// <summary>
    /// True when <see cref="Read"/> can decode records straight from their bytes (every member but bitfields can: a
    /// composite with bitfields converts from its decoded record through <see cref="Create"/>).
    /// </summary>
    public bool CanRead { get; }

    /// <summary>
    /// An instance decoded straight from a record's bytes, with the values <see cref="Events.EventDecoder"/> gives: a
    /// record shorter than the type leaves the members past its end null and cuts arrays to their whole elements.
    /// </summary>
    /// <exception cref="NotSupportedException"><see cref="CanRead"/> is false.</exception>
    /// <exception cref="ArgumentException">The record is longer than the type.</exception>
    /// <exception cref="ArgumentNullException">The class has time members and <paramref name="toTime"/> is null.</exception>
    public RecordObject Read(ReadOnlySpan<byte> record, Func<ulong, DateTime>? toTime = null)
    {
        if (!CanRead) throw new NotSupportedException($"{CTypeName} records are converted from their decoded form (it has bitfields)");
        if (record.Length > Size) throw new ArgumentException($"a {record.Length}-byte record is longer than {CTypeName} ({Size} bytes)", nameof(record));
        if (_timeIndexes.Length > 0) ArgumentNullException.ThrowIfNull(toTime);
        var result = _prototype.CreateEmpty();
        result.Read(record, toTime);
        return result;
    }

    /// <summary>Member names in declaration order (anonymous inner members flattened), one property each.</summary>
    public ImmutableArray<string> Names { get; }

    /// <summary>
    /// An instance holding <paramref name="record"/>'s values (a decode of this class's C type); members typed
    /// DateTime are converted by <paramref name="toTime"/> (left as they are without it, which only a class without
    /// time members allows).
    /// </summary>
    /// <exception cref="ArgumentException">The record is of another type.</exception>
    public RecordObject Create(BtfRecord record, Func<ulong, DateTime>? toTime = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        var values = record.RawValues;
        if (values.Length != Names.Length || record.TypeName != CTypeName)
            throw new ArgumentException($"a {record.TypeName} record is not a {CTypeName}", nameof(record));
        if (_converters is not null || _timeIndexes.Length > 0)
        {
            values = (object?[])values.Clone();
            if (_converters is not null)
            {
                for (int i = 0; i < values.Length; i++)
                    if (_converters[i] is { } convert && values[i] is { } value) values[i] = convert(value);
            }
            foreach (int i in _timeIndexes)
                if (values[i] is ulong stamp && toTime is not null) values[i] = toTime(stamp);
        }
        var result = _prototype.CreateEmpty();
        try
        {
            result.SetValues(values);
        }
        catch (InvalidCastException e)
        {
            throw new ArgumentException($"a value of the {CTypeName} record does not fit its generated class: {e.Message}", nameof(record), e);
        }
        return result;
    }

    public override string ToString() => Type.FullName ?? CTypeName;
}
