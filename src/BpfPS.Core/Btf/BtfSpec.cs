using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfPS.Core.Btf;

/// <summary>
/// An immutable, lazily decoded BTF blob (the kernel's vmlinux, a module's split BTF, or an object's .BTF).
/// The raw bytes are kept; an offset per type id and a name index are built on first need; a type is decoded on first
/// request and memoised. Safe for concurrent use from many threads. Never mutated after construction.
/// </summary>
/// <remarks>
/// Layout, in the spirit of System.Reflection.Metadata: <see cref="Parse"/> validates the header and makes one pass
/// over the type section recording where each type starts (4 bytes per type). Everything else is on demand: a type
/// is decoded by <see cref="GetType(uint)"/> and published into a chunked slot array with a compare-and-swap (the
/// first decoder wins; every caller gets that instance); the name index (<see cref="BtfNameIndex"/>) is built on the
/// first name lookup. <see cref="GetKind"/>, <see cref="GetName"/>, <see cref="SizeOf"/> and
/// <see cref="SkipModsAndTypedefs"/> read the raw bytes and decode nothing.
/// </remarks>
public sealed partial class BtfSpec
{
    private const int ChunkShift = 10;
    private const int ChunkSize = 1 << ChunkShift;
    /// <summary>Typedef/modifier chains longer than this are treated as cycles (libbpf's MAX_RESOLVE_DEPTH).</summary>
    internal const int MaxResolveDepth = 32;

    private readonly string _source;
    private readonly BtfSpec? _base;
    private readonly ReadOnlyMemory<byte> _raw;
    private readonly int _typeStart, _stringStart, _stringLength;
    /// <summary>String offsets below this belong to the base (split BTF); 0 for a standalone blob.</summary>
    private readonly uint _stringBase;
    private readonly uint _firstId;
    /// <summary>Offset of each owned type inside the type section, indexed by id - <see cref="_firstId"/>; may be longer than <see cref="_typeCount"/>.</summary>
    private readonly uint[] _typeOffsets;
    private readonly int _typeCount;
    /// <summary>Decoded types in chunks of <see cref="ChunkSize"/>, a chunk allocated on its first decode.</summary>
    private readonly BtfType?[]?[] _decoded;
    private int _decodedCount;
    private readonly BtfVoid _void;

    private BtfSpec(string source, BtfSpec? baseSpec, ReadOnlyMemory<byte> raw, int typeStart,
        int stringStart, int stringLength, uint[] typeOffsets, int typeCount)
    {
        _source = source;
        _base = baseSpec;
        _raw = raw;
        _typeStart = typeStart;
        _stringStart = stringStart;
        _stringLength = stringLength;
        _stringBase = baseSpec?.StringsEnd ?? 0;
        _firstId = baseSpec?.NextTypeId ?? 1;
        _typeOffsets = typeOffsets;
        _typeCount = typeCount;
        _decoded = new BtfType?[]?[(typeCount + ChunkSize - 1) >> ChunkShift];
        _void = baseSpec?._void ?? new BtfVoid(this);
    }

    /// <summary>Parses a raw BTF blob (header, types, strings). For split BTF pass the base spec.</summary>
    /// <remarks>The bytes are not copied: the caller must not change them afterwards.</remarks>
    /// <exception cref="BpfFormatException">The blob is malformed (the message names <paramref name="source"/>).</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> raw, string source, BtfSpec? baseSpec = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var s = raw.Span;
        if (s.Length < BtfWire.HeaderSize)
            throw new BpfFormatException($"truncated header: {s.Length} bytes, a BTF header needs {BtfWire.HeaderSize}", source, BtfWire.HeaderPart, 0);
        ushort magic = BtfWire.U16(s, 0);
        if (magic == BtfWire.MagicSwapped)
            throw new BpfFormatException("big-endian BTF is not supported", source, BtfWire.HeaderPart, 0);
        if (magic != BtfWire.Magic)
            throw new BpfFormatException($"bad magic 0x{magic:x4}, expected 0x{BtfWire.Magic:x4}", source, BtfWire.HeaderPart, 0);
        if (s[2] != BtfWire.Version)
            throw new BpfFormatException($"unsupported version {s[2]}, expected {BtfWire.Version}", source, BtfWire.HeaderPart, 2);
        if (s[3] != 0)
            throw new BpfFormatException($"unsupported flags 0x{s[3]:x2}", source, BtfWire.HeaderPart, 3);
        uint headerLength = BtfWire.U32(s, 4);
        if (headerLength < BtfWire.HeaderSize || headerLength > (uint)s.Length)
            throw new BpfFormatException($"header length {headerLength} is outside {BtfWire.HeaderSize}..{s.Length}", source, BtfWire.HeaderPart, 4);
        // A longer header is a newer format; like the kernel, accept it only if the part we do not know is zero.
        if (s[BtfWire.HeaderSize..(int)headerLength].IndexOfAnyExcept((byte)0) >= 0)
            throw new BpfFormatException("header has unknown non-zero fields", source, BtfWire.HeaderPart, BtfWire.HeaderSize);
        uint typeOff = BtfWire.U32(s, 8), typeLen = BtfWire.U32(s, 12), strOff = BtfWire.U32(s, 16), strLen = BtfWire.U32(s, 20);
        ulong typeStart = headerLength + (ulong)typeOff, typeEnd = typeStart + typeLen;
        ulong strStart = headerLength + (ulong)strOff, strEnd = strStart + strLen;
        if (typeEnd > (ulong)s.Length)
            throw new BpfFormatException($"type section [{typeStart}, {typeEnd}) runs past the end of the {s.Length}-byte blob", source, BtfWire.HeaderPart, 8);
        if (strEnd > (ulong)s.Length)
            throw new BpfFormatException($"string section [{strStart}, {strEnd}) runs past the end of the {s.Length}-byte blob", source, BtfWire.HeaderPart, 16);
        if ((typeOff & 3) != 0)
            throw new BpfFormatException($"type section offset {typeOff} is not 4-byte aligned", source, BtfWire.HeaderPart, 8);
        if (typeLen != 0 && strLen != 0 && typeStart < strEnd && strStart < typeEnd)
            throw new BpfFormatException("type and string sections overlap", source, BtfWire.HeaderPart, 8);
        var strings = s.Slice((int)strStart, (int)strLen);
        if (baseSpec is null && (strLen == 0 || strings[0] != 0))
            throw new BpfFormatException("string section must start with the empty string", source, BtfWire.StringPart, 0);
        if (strLen != 0 && strings[^1] != 0)
            throw new BpfFormatException("string section is not NUL-terminated", source, BtfWire.StringPart, strLen - 1);
        if (baseSpec is not null && (ulong)baseSpec.StringsEnd + strLen > int.MaxValue)
            throw new BpfFormatException("base and split string sections together exceed 2 GiB", source, BtfWire.HeaderPart, 20);

        var offsets = IndexTypes(s.Slice((int)typeStart, (int)typeLen), source, out int count);
        ulong firstId = baseSpec?.NextTypeId ?? 1;
        if (firstId + (ulong)count > int.MaxValue)
            throw new BpfFormatException($"too many types ({count} after id {firstId})", source, BtfWire.TypePart, 0);
        return new BtfSpec(source, baseSpec, raw, (int)typeStart, (int)strStart, (int)strLen, offsets, count);
    }

    /// <summary>
    /// The one pass: where each type starts, checking that its fixed part and trailing data fit. The array is sized
    /// from the section length and not trimmed (trimming would copy it): <paramref name="count"/> says how much is used.
    /// </summary>
    private static uint[] IndexTypes(ReadOnlySpan<byte> types, string source, out int count)
    {
        // vmlinux averages 25 bytes a type; a little below that, growth is rare.
        var offsets = new uint[Math.Max(16, types.Length / 24)];
        ReadOnlySpan<byte> fixedBytes = BtfWire.FixedTrailingBytes, perEntry = BtfWire.TrailingBytesPerEntry;
        ref byte start = ref MemoryMarshal.GetReference(types);
        int n = 0, off = 0, end = types.Length;
        while (off < end)
        {
            if (end - off < BtfWire.TypeSize)
                throw new BpfFormatException($"type [{n + 1}] is truncated: {end - off} bytes left, a type needs {BtfWire.TypeSize}", source, BtfWire.TypePart, off);
            uint info = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref start, off + 4));
            int kind = (int)(info >> 24) & 0x1f;
            int fixedPart = fixedBytes[kind];
            if (fixedPart == BtfWire.UnknownKind)
                throw new BpfFormatException($"type [{n + 1}] has unknown kind {kind}", source, BtfWire.TypePart, off);
            long next = (long)off + BtfWire.TypeSize + fixedPart + perEntry[kind] * (int)(info & 0xffff);
            if (next > end)
                throw new BpfFormatException(
                    $"type [{n + 1}] ({(BtfKind)kind}, vlen {info & 0xffff}) needs {next - off - BtfWire.TypeSize} bytes after its header, only {end - off - BtfWire.TypeSize} remain",
                    source, BtfWire.TypePart, off);
            if (n == offsets.Length)
            {
                var grown = new uint[offsets.Length * 2]; // not Array.Resize<uint>: JIT-compiled at a session's first use
                Array.Copy(offsets, grown, n);
                offsets = grown;
            }
            offsets[n++] = (uint)off;
            off = (int)next;
        }
        count = n;
        return offsets;
    }

    /// <summary>Reads a raw BTF file (e.g. /sys/kernel/btf/vmlinux or a BTFHub .btf).</summary>
    public static BtfSpec LoadFile(string path, BtfSpec? baseSpec = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Parse(File.ReadAllBytes(path), path, baseSpec);
    }

    /// <summary>Where the bytes came from (a path, or "name.o:.BTF").</summary>
    public string Source => _source;
    /// <summary>The base spec for split BTF, else null.</summary>
    public BtfSpec? Base => _base;
    /// <summary>The raw blob as read.</summary>
    public ReadOnlyMemory<byte> RawBytes => _raw;
    /// <summary>Lowest type id this spec owns (1, or base's next id for split BTF).</summary>
    public uint FirstTypeId => _firstId;
    /// <summary>Number of types this spec owns (not counting void or the base's).</summary>
    public int TypeCount => _typeCount;
    /// <summary>One past the highest valid type id (including the base's).</summary>
    public uint NextTypeId => _firstId + (uint)_typeCount;
    /// <summary>How many types have been decoded so far (for tests proving laziness and sharing).</summary>
    public int DecodedTypeCount => Volatile.Read(ref _decodedCount);

    /// <summary>
    /// Bytes this spec keeps reachable apart from decoded types and strings: the raw blob when it is a managed array
    /// (not when it maps the kernel's copy), the type offsets, the name index once built, the decoded-type slots and
    /// the string cache. For the memory figures and their test.
    /// </summary>
    internal long RetainedBytesEstimate
    {
        get
        {
            long total = System.Runtime.InteropServices.MemoryMarshal.TryGetArray(_raw, out ArraySegment<byte> array) ? array.Array!.Length : 0;
            total += 4L * _typeOffsets.Length + 8L * _decoded.Length;
            foreach (var chunk in _decoded)
                total += chunk is null ? 0 : 8L * chunk.Length;
            total += 8L * (_stringCache?.Length ?? 0);
            total += Volatile.Read(ref _nameIndex)?.RetainedBytes ?? 0;
            return total;
        }
    }

    /// <summary>One past the last string offset this spec resolves (its base's strings, then its own).</summary>
    internal uint StringsEnd => _stringBase + (uint)_stringLength;

    /// <summary>The type with this id, decoded once and shared; id 0 is void; base ids are answered by the base.</summary>
    /// <exception cref="BpfFormatException">The id is past the end, or the type's bytes are malformed.</exception>
    public BtfType GetType(uint id)
    {
        if (id < _firstId)
            return id == 0 ? _void : _base!.GetType(id);
        uint index = id - _firstId;
        if (index >= (uint)_typeCount)
            throw IdPastEnd(id);
        var chunk = Volatile.Read(ref _decoded[index >> ChunkShift]);
        if (chunk is not null && Volatile.Read(ref chunk[index & (ChunkSize - 1)]) is { } known)
            return known;
        return DecodeAndPublish(index);
    }

    /// <summary>Like <see cref="GetType(uint)"/>, but false for an id this spec (and its base) does not have.</summary>
    /// <exception cref="BpfFormatException">The type's bytes are malformed.</exception>
    public bool TryGetType(uint id, out BtfType? type)
    {
        if (id >= NextTypeId)
        {
            type = null;
            return false;
        }
        type = GetType(id);
        return true;
    }

    /// <summary>The kind of a type without decoding it.</summary>
    /// <exception cref="BpfFormatException">The id is past the end.</exception>
    public BtfKind GetKind(uint id)
    {
        if (id == 0) return BtfKind.Void;
        var owner = Owner(id);
        return BtfWire.Kind(owner.Info(id));
    }

    /// <summary>The name of a type without decoding it ("" for anonymous types).</summary>
    /// <exception cref="BpfFormatException">The id is past the end, or its name offset is outside the strings.</exception>
    public string GetName(uint id)
    {
        if (id == 0) return "";
        var owner = Owner(id);
        uint index = id - owner._firstId;
        var chunk = Volatile.Read(ref owner._decoded[index >> ChunkShift]);
        if (chunk is not null && Volatile.Read(ref chunk[index & (ChunkSize - 1)]) is { } known)
            return known.Name;
        return owner.GetString(owner.U32At(owner.TypeOffset(index)));
    }

    /// <summary>Every type this spec owns, in id order (decodes lazily as enumerated).</summary>
    public IEnumerable<BtfType> Types
    {
        get
        {
            for (uint id = _firstId; id < NextTypeId; id++)
                yield return GetType(id);
        }
    }

    /// <summary>Size in bytes of a type, following typedefs/qualifiers and multiplying arrays; bounded depth.</summary>
    /// <exception cref="BpfFormatException">The chain is a cycle or too deep, a size overflows, or the type has no size (void, func, fwd).</exception>
    public uint SizeOf(uint id)
    {
        ulong elements = 1;
        uint current = id;
        for (int depth = 0; depth < MaxResolveDepth; depth++)
        {
            if (current == 0)
                throw new BpfFormatException($"type [{id}] has no size: it resolves to void", _source, BtfWire.TypePart);
            var owner = Owner(current);
            int at = owner.TypeOffset(current - owner._firstId);
            uint info = owner.U32At(at + 4), sizeOrType = owner.U32At(at + 8);
            switch (BtfWire.Kind(info))
            {
                case BtfKind.Int or BtfKind.Struct or BtfKind.Union or BtfKind.Enum or BtfKind.Enum64 or BtfKind.Datasec or BtfKind.Float:
                    return CheckedSize(id, elements * sizeOrType);
                case BtfKind.Pointer:
                    return CheckedSize(id, elements * PointerSize);
                case BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag or BtfKind.Var or BtfKind.DeclTag:
                    current = owner.CheckedRef(current, sizeOrType, at + 8);
                    break;
                case BtfKind.Array:
                    elements *= owner.U32At(at + 20);
                    if (elements > uint.MaxValue)
                        throw new BpfFormatException($"size of type [{id}] overflows 32 bits", _source, BtfWire.TypePart);
                    current = owner.CheckedRef(current, owner.U32At(at + 12), at + 12);
                    break;
                case var other:
                    throw new BpfFormatException($"type [{id}] has no size: it resolves to {other} [{current}]", _source, BtfWire.TypePart);
            }
        }
        throw new BpfFormatException($"type [{id}]: more than {MaxResolveDepth} typedefs, modifiers or arrays (a cycle?)", _source, BtfWire.TypePart);
    }

    /// <summary>Pointer size the BTF describes; BTF carries none, and every BPF target is 64-bit.</summary>
    internal const uint PointerSize = 8;

    private uint CheckedSize(uint id, ulong size) => size <= uint.MaxValue
        ? (uint)size
        : throw new BpfFormatException($"size of type [{id}] overflows 32 bits", _source, BtfWire.TypePart);

    /// <summary>Skips typedef, volatile, const, restrict and type_tag; bounded depth (cycles give BpfFormatException).</summary>
    public uint SkipModsAndTypedefs(uint id)
    {
        uint current = id;
        for (int depth = 0; depth <= MaxResolveDepth; depth++)
        {
            if (current == 0)
                return 0;
            var owner = Owner(current);
            int at = owner.TypeOffset(current - owner._firstId);
            switch (BtfWire.Kind(owner.U32At(at + 4)))
            {
                case BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                    current = owner.CheckedRef(current, owner.U32At(at + 8), at + 8);
                    break;
                default:
                    return current;
            }
        }
        throw new BpfFormatException($"type [{id}]: more than {MaxResolveDepth} typedefs or modifiers (a cycle?)", _source, BtfWire.TypePart);
    }

    public override string ToString() => _base is null
        ? $"BTF {_source} ({TypeCount} types)"
        : $"BTF {_source} ({TypeCount} types after {_base.Source})";

    // ---- raw access -------------------------------------------------------------------------------------------------

    /// <summary>The spec in the base chain that owns <paramref name="id"/> (never void).</summary>
    internal BtfSpec Owner(uint id)
    {
        var spec = this;
        while (id < spec._firstId)
        {
            if (spec._base is null)
                throw new ArgumentOutOfRangeException(nameof(id), "type 0 (void) has no bytes");
            spec = spec._base;
        }
        if (id - spec._firstId >= (uint)spec._typeCount)
            throw IdPastEnd(id);
        return spec;
    }

    /// <summary>Where the type section, each owned type and the string section sit in <see cref="RawBytes"/> (for the name index).</summary>
    internal int TypeSectionStart => _typeStart;
    internal uint[] TypeSectionOffsets => _typeOffsets;
    internal int StringSectionStart => _stringStart;
    internal int StringSectionLength => _stringLength;
    internal uint StringBase => _stringBase;

    /// <summary>Absolute offset in <see cref="RawBytes"/> of owned type index <paramref name="index"/>.</summary>
    internal int TypeOffset(uint index) => _typeStart + (int)_typeOffsets[index];

    /// <summary>The info word of an owned id.</summary>
    internal uint Info(uint id) => U32At(TypeOffset(id - _firstId) + 4);

    internal uint U32At(int absolute) => BtfWire.U32(_raw.Span, absolute);

    /// <summary>Validates a type id read at <paramref name="absolute"/> while decoding type <paramref name="from"/>.</summary>
    internal uint CheckedRef(uint from, uint target, int absolute) => target < NextTypeId
        ? target
        : throw new BpfFormatException($"type [{from}] refers to type {target}, past the last type {NextTypeId - 1}",
            _source, BtfWire.TypePart, absolute - _typeStart);

    private BpfFormatException IdPastEnd(uint id) =>
        new($"type id {id} is past the last type {NextTypeId - 1}", _source, BtfWire.TypePart);
}
