using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Btf;
using BpfPS.Core.Collections;

namespace BpfPS.Core.Loading;

/// <summary>
/// A private, mutable copy of an object's raw .BTF for the fix-ups libbpf applies before loading (DATASEC sizes and
/// variable offsets, extern and hidden-symbol linkage, the .ksyms dummy variable). Edits patch fields in place, so
/// the output keeps the compiler's layout byte for byte except where libbpf changes it; appended types and strings
/// go at the end of their sections, as libbpf's writer puts them. The blob is only indexed here (an offset per
/// type id): reading types is <see cref="BtfSpec"/>'s job.
/// </summary>
internal sealed class ObjectBtfEditor
{
    private const int CommonSize = 12;

    private readonly byte[] _header;
    private byte[] _types;
    private int _typesLength;
    private byte[] _strings;
    private int _stringsLength;
    private readonly List<int> _offsets = new() { -1 };
    private Dictionary<string, uint>? _stringIndex;
    private bool _grown;

    private ObjectBtfEditor(byte[] header, byte[] types, byte[] strings)
    {
        _header = header;
        _types = types;
        _typesLength = types.Length;
        _strings = strings;
        _stringsLength = strings.Length;
    }

    /// <summary>Copies and indexes a raw .BTF blob.</summary>
    /// <exception cref="BpfFormatException">The header or a type record lies outside the blob.</exception>
    public static ObjectBtfEditor Create(ReadOnlySpan<byte> raw, string source)
    {
        if (raw.Length < 24 || BinaryPrimitives.ReadUInt16LittleEndian(raw) != 0xeb9f)
            throw new BpfFormatException("not a little-endian BTF blob (bad magic or too short)", source, ".BTF", 0);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(4));
        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(8));
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(12));
        uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(16));
        uint strLen = BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(20));
        ulong body = (ulong)raw.Length - Math.Min(headerLength, (uint)raw.Length);
        if (headerLength < 24 || headerLength > raw.Length || (ulong)typeOff + typeLen > body || (ulong)strOff + strLen > body)
            throw new BpfFormatException("BTF header describes sections outside the blob", source, ".BTF", 4);

        var data = raw.Slice((int)headerLength);
        var editor = new ObjectBtfEditor(
            raw.Slice(0, (int)headerLength).ToArray(),
            data.Slice((int)typeOff, (int)typeLen).ToArray(),
            data.Slice((int)strOff, (int)strLen).ToArray());
        editor.IndexTypes(source);
        return editor;
    }

    /// <summary>Number of types (ids 1..Count).</summary>
    public int Count => _offsets.Count - 1;

    public BtfKind Kind(uint id) => (BtfKind)((Info(id) >> 24) & 0x1f);
    public int Vlen(uint id) => (int)(Info(id) & 0xffff);
    public uint NameOffset(uint id) => U32(Offset(id));
    public uint SizeOrType(uint id) => U32(Offset(id) + 8);
    public void SetSizeOrType(uint id, uint value) => Put(Offset(id) + 8, value);

    /// <summary>The name string of a type ("" when anonymous or the offset is bad).</summary>
    public string Name(uint id) => String(NameOffset(id));

    /// <summary>Linkage of a FUNC lives in its vlen bits.</summary>
    public void SetFuncLinkage(uint id, BtfLinkage linkage) => Put(Offset(id) + 4, (Info(id) & ~0xffffu) | (uint)linkage);

    public BtfLinkage VarLinkage(uint id) => (BtfLinkage)U32(Offset(id) + CommonSize);
    public void SetVarLinkage(uint id, BtfLinkage linkage) => Put(Offset(id) + CommonSize, (uint)linkage);

    /// <summary>One DATASEC entry (a record struct of the core: a ValueTuple's methods were JIT-compiled at the first load).</summary>
    internal readonly record struct SecInfoEntry(uint Type, uint Offset, uint Size);

    /// <summary>One DATASEC entry: (var type id, offset, size).</summary>
    public SecInfoEntry SecInfo(uint datasec, int index)
    {
        int at = Offset(datasec) + CommonSize + index * 12;
        return new SecInfoEntry(U32(at), U32(at + 4), U32(at + 8));
    }

    public void SetSecInfo(uint datasec, int index, uint type, uint offset, uint size)
    {
        int at = Offset(datasec) + CommonSize + index * 12;
        Put(at, type);
        Put(at + 4, offset);
        Put(at + 8, size);
    }

    /// <summary>Orders a DATASEC's entries by offset (libbpf qsorts them; ties keep their order here).</summary>
    public void SortSecInfos(uint datasec)
    {
        // The core's list and its stable sort, not LINQ OrderBy over a ValueTuple (JIT-compiled at the first load).
        int n = Vlen(datasec);
        var entries = new ValueList<SecInfoEntry>(n);
        for (int i = 0; i < n; i++) entries.Add(SecInfo(datasec, i));
        entries.Sort(static (a, b) => a.Offset.CompareTo(b.Offset));
        for (int i = 0; i < n; i++)
        {
            ref readonly var e = ref entries[i];
            SetSecInfo(datasec, i, e.Type, e.Offset, e.Size);
        }
    }

    /// <summary>A FUNC_PROTO parameter: (name offset, type id).</summary>
    public (uint NameOffset, uint Type) Parameter(uint proto, int index)
    {
        int at = Offset(proto) + CommonSize + index * 8;
        return (U32(at), U32(at + 4));
    }

    public void SetParameterName(uint proto, int index, uint nameOffset) => Put(Offset(proto) + CommonSize + index * 8, nameOffset);

    /// <summary>The offset of <paramref name="value"/> in the string section, appending it when it is not there yet.</summary>
    public uint AddString(string value)
    {
        if (_stringIndex is null)
        {
            _stringIndex = new Dictionary<string, uint>(StringComparer.Ordinal);
            for (int off = 0; off < _stringsLength;)
            {
                int end = Array.IndexOf(_strings, (byte)0, off, _stringsLength - off);
                if (end < 0) end = _stringsLength;
                _stringIndex.TryAdd(Encoding.UTF8.GetString(_strings, off, end - off), (uint)off);
                off = end + 1;
            }
        }
        if (_stringIndex.TryGetValue(value, out uint existing)) return existing;

        var bytes = Encoding.UTF8.GetBytes(value);
        uint offset = (uint)_stringsLength;
        Grow(ref _strings, _stringsLength + bytes.Length + 1);
        bytes.CopyTo(_strings, _stringsLength);
        _strings[_stringsLength + bytes.Length] = 0;
        _stringsLength += bytes.Length + 1;
        _stringIndex[value] = offset;
        _grown = true;
        return offset;
    }

    /// <summary>Appends a VAR and returns its id.</summary>
    public uint AddVar(string name, BtfLinkage linkage, uint type)
    {
        uint nameOffset = AddString(name);
        int at = _typesLength;
        Grow(ref _types, _typesLength + CommonSize + 4);
        _typesLength += CommonSize + 4;
        Put(at, nameOffset);
        Put(at + 4, (uint)BtfKind.Var << 24);
        Put(at + 8, type);
        Put(at + 12, (uint)linkage);
        _offsets.Add(at);
        _grown = true;
        return (uint)(_offsets.Count - 1);
    }

    /// <summary>The edited blob: header, types, strings.</summary>
    public byte[] ToArray()
    {
        var header = (byte[])_header.Clone();
        if (_grown)
        {
            // Like libbpf's writer: types right after the header, strings right after the types.
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(8), 0);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(12), (uint)_typesLength);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), (uint)_typesLength);
            BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(20), (uint)_stringsLength);
        }
        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        uint strOff = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(16));
        int bodyLength = (int)Math.Max(typeOff + (uint)_typesLength, strOff + (uint)_stringsLength);
        var result = new byte[header.Length + bodyLength];
        header.CopyTo(result, 0);
        Array.Copy(_types, 0, result, header.Length + typeOff, _typesLength);
        Array.Copy(_strings, 0, result, header.Length + strOff, _stringsLength);
        return result;
    }

    private void IndexTypes(string source)
    {
        int at = 0;
        while (at < _typesLength)
        {
            if (_typesLength - at < CommonSize)
                throw new BpfFormatException($"type #{_offsets.Count} is truncated", source, "BTF type section", at);
            uint info = U32(at + 4);
            int vlen = (int)(info & 0xffff);
            int extra = (BtfKind)((info >> 24) & 0x1f) switch
            {
                BtfKind.Int or BtfKind.Var or BtfKind.DeclTag => 4,
                BtfKind.Array => 12,
                BtfKind.Struct or BtfKind.Union or BtfKind.Datasec or BtfKind.Enum64 => vlen * 12,
                BtfKind.Enum or BtfKind.FuncProto => vlen * 8,
                BtfKind.Pointer or BtfKind.Fwd or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict
                    or BtfKind.Func or BtfKind.Float or BtfKind.TypeTag => 0,
                var k => throw new BpfFormatException($"type #{_offsets.Count} has unknown kind {(int)k}", source, "BTF type section", at),
            };
            if (_typesLength - at - CommonSize < extra)
                throw new BpfFormatException($"type #{_offsets.Count} runs past the end of the type section", source, "BTF type section", at);
            _offsets.Add(at);
            at += CommonSize + extra;
        }
    }

    // Ids come from the object's own BTF (datasec entries, members): a bad one is malformed input, not a caller's bug.
    private int Offset(uint id) => id == 0 || id >= (uint)_offsets.Count
        ? throw new BpfFormatException($"BTF type id {id} out of range (1..{_offsets.Count - 1})", null, "BTF type section")
        : _offsets[(int)id];

    private uint Info(uint id) => U32(Offset(id) + 4);
    private uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(_types.AsSpan(at));
    private void Put(int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_types.AsSpan(at), value);

    private string String(uint offset)
    {
        if (offset >= (uint)_stringsLength) return "";
        int end = Array.IndexOf(_strings, (byte)0, (int)offset, _stringsLength - (int)offset);
        if (end < 0) end = _stringsLength;
        return Encoding.UTF8.GetString(_strings, (int)offset, end - (int)offset);
    }

    private static void Grow(ref byte[] buffer, int needed)
    {
        if (needed <= buffer.Length) return;
        Array.Resize(ref buffer, Math.Max(needed, buffer.Length * 2));
    }
}
