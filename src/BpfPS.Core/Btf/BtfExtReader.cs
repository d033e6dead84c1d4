using BpfPS.Core.Collections;

namespace BpfPS.Core.Btf;

/// <summary>
/// Reads .BTF.ext: btf_ext_header (magic, version, flags, hdr_len, func_info_off/len, line_info_off/len and, when
/// hdr_len allows, core_relo_off/len), then per info kind a u32 record size followed by per-ELF-section blocks
/// {sec_name_off, num_info, records}. Instruction offsets are in bytes in the file and become instruction indexes.
/// </summary>
internal ref struct BtfExtReader
{
    private const string Part = ".BTF.ext";
    private const int MinHeader = 24, HeaderWithCoreRelo = 32;
    private const uint MinFuncInfo = 8, MinLineInfo = 16, MinCoreRelo = 16;

    private readonly ReadOnlySpan<byte> _raw;
    private readonly BtfSpec _btf;
    private readonly string _source;
    private readonly Dictionary<string, Builder> _sections = new(StringComparer.Ordinal);

    public BtfExtReader(ReadOnlySpan<byte> raw, BtfSpec btf, string source)
    {
        _raw = raw;
        _btf = btf;
        _source = source;
    }

    private sealed class Builder
    {
        // The core's own list, not ImmutableArray builders: see ValueList.
        public readonly ValueList<BtfFuncInfo> Funcs = new();
        public readonly ValueList<BtfLineInfo> Lines = new();
        public readonly ValueList<CoreRelocation> Relos = new();
    }

    public BtfExt Read()
    {
        if (_raw.Length < 8)
            throw Error($"truncated header: {_raw.Length} bytes", 0);
        ushort magic = BtfWire.U16(_raw, 0);
        if (magic == BtfWire.MagicSwapped)
            throw Error("big-endian .BTF.ext is not supported", 0);
        if (magic != BtfWire.Magic)
            throw Error($"bad magic 0x{magic:x4}, expected 0x{BtfWire.Magic:x4}", 0);
        if (_raw[2] != BtfWire.Version)
            throw Error($"unsupported version {_raw[2]}, expected {BtfWire.Version}", 2);
        uint headerLength = BtfWire.U32(_raw, 4);
        if (headerLength < MinHeader || headerLength > (uint)_raw.Length)
            throw Error($"header length {headerLength} is outside {MinHeader}..{_raw.Length}", 4);

        uint funcSize = ReadInfo(headerLength, 8, "func_info", MinFuncInfo, ReadFuncInfo, static (b, n) => Reserve(b.Funcs, n));
        uint lineSize = ReadInfo(headerLength, 16, "line_info", MinLineInfo, ReadLineInfo, static (b, n) => Reserve(b.Lines, n));
        if (headerLength >= HeaderWithCoreRelo)
            ReadInfo(headerLength, 24, "core_relo", MinCoreRelo, ReadCoreRelo, static (b, n) => Reserve(b.Relos, n));

        var sections = new Dictionary<string, BtfExtSection>(_sections.Count, StringComparer.Ordinal);
        foreach (var (name, b) in _sections)
            sections[name] = new BtfExtSection(name, b.Funcs.DrainToArray(), b.Lines.DrainToArray(), b.Relos.DrainToArray());
        return new BtfExt(sections, funcSize == 0 ? MinFuncInfo : funcSize, lineSize == 0 ? MinLineInfo : lineSize);
    }

    private delegate void RecordReader(ref BtfExtReader reader, Builder section, int at);

    // Blocks state their record count up front (checked against the bytes before this runs): sizing the builder exactly
    // means no regrowth and lets DrainToArray hand over its array without a copy.
    private static void Reserve<T>(ValueList<T> builder, uint count) =>
        builder.Capacity = Math.Max(builder.Capacity, builder.Count + (int)count);

    /// <summary>Reads one info block whose off/len sit at <paramref name="fieldAt"/>; returns its record size (0 if empty).</summary>
    private uint ReadInfo(uint headerLength, int fieldAt, string what, uint minRecord, RecordReader read, Action<Builder, uint> reserve)
    {
        uint off = BtfWire.U32(_raw, fieldAt), len = BtfWire.U32(_raw, fieldAt + 4);
        if (len == 0)
            return 0;
        ulong start = headerLength + (ulong)off, end = start + len;
        if (end > (ulong)_raw.Length)
            throw Error($"{what} [{start}, {end}) runs past the end of the {_raw.Length}-byte section", fieldAt);
        if (len < 4)
            throw Error($"{what} is {len} bytes, too short for its record size", (long)start);
        int at = (int)start, limit = (int)end;
        uint recordSize = BtfWire.U32(_raw, at);
        if (recordSize < minRecord || (recordSize & 3) != 0)
            throw Error($"{what} record size {recordSize} is below the minimum {minRecord} or not a multiple of 4", at);
        at += 4;
        while (at < limit)
        {
            if (limit - at < 8)
                throw Error($"{what} block header is truncated", at);
            uint nameOff = BtfWire.U32(_raw, at), count = BtfWire.U32(_raw, at + 4);
            string name = SectionName(nameOff, what, at);
            if (count == 0)
                throw Error($"{what} block for section '{name}' has no records", at + 4);
            at += 8;
            if ((ulong)count * recordSize > (ulong)(limit - at))
                throw Error($"{what} block for section '{name}' claims {count} records of {recordSize} bytes, only {limit - at} bytes remain", at - 4);
            if (!_sections.TryGetValue(name, out var section))
                _sections.Add(name, section = new Builder());
            reserve(section, count);
            for (uint i = 0; i < count; i++, at += (int)recordSize)
                read(ref this, section, at);
        }
        return recordSize;
    }

    private string SectionName(uint offset, string what, int at)
    {
        string name;
        try
        {
            name = _btf.GetString(offset);
        }
        catch (BpfFormatException e)
        {
            throw Error($"{what} section name offset {offset} does not resolve: {e.Reason}", at);
        }
        return name.Length != 0 ? name : throw Error($"{what} block has an empty section name", at);
    }

    private int InstructionIndex(int at, string what)
    {
        uint bytes = BtfWire.U32(_raw, at);
        return (bytes & 7) == 0 && bytes / 8 <= int.MaxValue
            ? (int)(bytes / 8)
            : throw Error($"{what} instruction offset {bytes} is not a multiple of 8 bytes", at);
    }

    private uint StringOffset(int at, string what)
    {
        uint offset = BtfWire.U32(_raw, at);
        return offset < _btf.StringsEnd ? offset : throw Error($"{what} string offset {offset} is past the end of the BTF strings", at);
    }

    private static void ReadFuncInfo(ref BtfExtReader r, Builder section, int at)
    {
        uint typeId = BtfWire.U32(r._raw, at + 4);
        if (typeId == 0 || typeId >= r._btf.NextTypeId)
            throw r.Error($"func_info type id {typeId} is not a type of the object's BTF", at + 4);
        section.Funcs.Add(new BtfFuncInfo(r.InstructionIndex(at, "func_info"), typeId));
    }

    private static void ReadLineInfo(ref BtfExtReader r, Builder section, int at) =>
        section.Lines.Add(new BtfLineInfo(r.InstructionIndex(at, "line_info"), r.StringOffset(at + 4, "line_info file name"),
            r.StringOffset(at + 8, "line_info line"), BtfWire.U32(r._raw, at + 12)));

    private static void ReadCoreRelo(ref BtfExtReader r, Builder section, int at)
    {
        uint typeId = BtfWire.U32(r._raw, at + 4), kind = BtfWire.U32(r._raw, at + 12);
        if (typeId >= r._btf.NextTypeId)
            throw r.Error($"core_relo type id {typeId} is not a type of the object's BTF", at + 4);
        if (kind > (uint)CoreRelocationKind.TypeMatches)
            throw r.Error($"core_relo kind {kind} is unknown", at + 12);
        string access;
        try
        {
            access = r._btf.GetString(BtfWire.U32(r._raw, at + 8));
        }
        catch (BpfFormatException e)
        {
            throw r.Error($"core_relo access string does not resolve: {e.Reason}", at + 8);
        }
        section.Relos.Add(new CoreRelocation(r.InstructionIndex(at, "core_relo"), typeId, access, (CoreRelocationKind)kind));
    }

    private readonly BpfFormatException Error(string message, long offset) => new(message, _source, Part, offset);
}
