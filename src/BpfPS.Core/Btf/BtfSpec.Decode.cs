using System.Runtime.InteropServices;
using System.Text;

namespace BpfPS.Core.Btf;

public sealed partial class BtfSpec
{
    // ---- strings ----------------------------------------------------------------------------------------------------

    /// <summary>
    /// Recently decoded strings, direct-mapped by offset and checked against the bytes on a hit, so a name that is asked
    /// for again (GetName before and after a decode, member names shared by many types) is not allocated again.
    /// Racing writers only replace one valid entry with another.
    /// </summary>
    private string?[]? _stringCache;

    /// <summary>A string from the string section (offsets past the base's strings belong to this split spec).</summary>
    /// <exception cref="BpfFormatException">The offset is outside the string section.</exception>
    public string GetString(uint offset)
    {
        if (offset < _stringBase)
            return _base!.GetString(offset);
        var bytes = OwnStringBytes(offset, _stringBase);
        if (bytes.IsEmpty)
            return "";
        var cache = _stringCache ?? InitStringCache();
        int slot = (int)((offset * 0x9E3779B1u) >> 20) & (cache.Length - 1);
        var cached = Volatile.Read(ref cache[slot]);
        if (cached is not null && cached.Length == bytes.Length && Ascii.Equals(bytes, cached))
            return cached;
        var decoded = Encoding.UTF8.GetString(bytes);
        Volatile.Write(ref cache[slot], decoded);
        return decoded;
    }

    private string?[] InitStringCache()
    {
        // About one slot per 16 bytes of strings, between 64 and 4096 slots (32 KiB) per spec.
        int size = (int)Math.Clamp(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)_stringLength / 16), 64u, 4096u);
        Interlocked.CompareExchange(ref _stringCache, new string?[size], null);
        return _stringCache!;
    }

    /// <summary>The UTF-8 bytes (without the NUL) of a string at <paramref name="offset"/>, resolving base offsets.</summary>
    internal ReadOnlySpan<byte> StringBytes(uint offset)
    {
        var spec = this;
        while (offset < spec._stringBase)
            spec = spec._base!;
        return spec.OwnStringBytes(offset, spec._stringBase);
    }

    private ReadOnlySpan<byte> OwnStringBytes(uint offset, uint stringBase)
    {
        uint rel = offset - stringBase;
        if (rel >= (uint)_stringLength)
            throw new BpfFormatException($"string offset {offset} is past the end of the strings ({StringsEnd} bytes)", _source, BtfWire.StringPart);
        var rest = _raw.Span.Slice(_stringStart + (int)rel, _stringLength - (int)rel);
        // Parse checked that the section ends with a NUL, so there is always one.
        return rest[..rest.IndexOf((byte)0)];
    }

    // ---- decoding ---------------------------------------------------------------------------------------------------

    private BtfType DecodeAndPublish(uint index)
    {
        var type = Decode(index);
        int chunkIndex = (int)(index >> ChunkShift);
        var chunk = Volatile.Read(ref _decoded[chunkIndex]);
        if (chunk is null)
        {
            var fresh = new BtfType?[Math.Min(ChunkSize, _typeCount - (chunkIndex << ChunkShift))];
            chunk = Interlocked.CompareExchange(ref _decoded[chunkIndex], fresh, null) ?? fresh;
        }
        var winner = Interlocked.CompareExchange(ref chunk[index & (ChunkSize - 1)], type, null);
        if (winner is not null)
            return winner;
        Interlocked.Increment(ref _decodedCount);
        return type;
    }

    /// <summary>
    /// The memoised type if there is one, else a fresh decode that is not memoised: for whole-spec walks (C header
    /// export) that should not leave every type of vmlinux decoded in a shared spec.
    /// </summary>
    internal BtfType GetTypeTransient(uint id)
    {
        if (id == 0)
            return _void;
        var owner = Owner(id);
        uint index = id - owner._firstId;
        var chunk = Volatile.Read(ref owner._decoded[index >> ChunkShift]);
        if (chunk is not null && Volatile.Read(ref chunk[index & (ChunkSize - 1)]) is { } known)
            return known;
        return owner.Decode(index);
    }

    private BtfType Decode(uint index)
    {
        uint id = _firstId + index;
        int at = TypeOffset(index);
        var raw = _raw.Span;
        uint nameOff = BtfWire.U32(raw, at), info = BtfWire.U32(raw, at + 4), sizeOrType = BtfWire.U32(raw, at + 8);
        var kind = BtfWire.Kind(info);
        int vlen = BtfWire.Vlen(info);
        bool kindFlag = BtfWire.KindFlag(info);
        string name = GetString(nameOff);
        int data = at + BtfWire.TypeSize;

        switch (kind)
        {
            case BtfKind.Int:
            {
                // The kernel's checks (btf_int_check_meta): no stray bits, offset + bits within 128 and the size.
                uint word = BtfWire.U32(raw, data);
                var encoding = (BtfIntEncoding)((word >> 24) & 0x0f);
                byte bitOffset = (byte)(word >> 16), bits = (byte)word;
                if (sizeOrType is 0 or > 16)
                    throw Malformed(id, at, $"int size {sizeOrType} is not 1 to 16 bytes");
                if ((word & 0xf000_0000) != 0)
                    throw Malformed(id, at, $"int data 0x{word:x8} has bits outside encoding, offset and bits");
                if (encoding is not (BtfIntEncoding.None or BtfIntEncoding.Signed or BtfIntEncoding.Char or BtfIntEncoding.Bool))
                    throw Malformed(id, at, $"int encoding 0x{(int)encoding:x} is not one of signed, char, bool");
                if (bitOffset + bits > 128 || (bitOffset + bits + 7) / 8 > sizeOrType)
                    throw Malformed(id, at, $"int of {sizeOrType} bytes has {bits} bits at bit offset {bitOffset}");
                return new BtfInt(this, id, name, sizeOrType, encoding, bitOffset, bits);
            }
            case BtfKind.Float:
                if (sizeOrType is not (2 or 4 or 8 or 12 or 16))
                    throw Malformed(id, at, $"float size {sizeOrType} is not 2, 4, 8, 12 or 16");
                return new BtfFloat(this, id, name, sizeOrType);
            case BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag:
                return new BtfReference(this, id, kind, name, CheckedRef(id, sizeOrType, at + 8));
            case BtfKind.Array:
                return new BtfArray(this, id, CheckedRef(id, BtfWire.U32(raw, data), data), CheckedRef(id, BtfWire.U32(raw, data + 4), data + 4),
                    BtfWire.U32(raw, data + 8));
            case BtfKind.Struct or BtfKind.Union:
            {
                var members = new BtfMember[vlen];
                for (int i = 0, m = data; i < vlen; i++, m += 12)
                {
                    uint offset = BtfWire.U32(raw, m + 8);
                    members[i] = new BtfMember(GetString(BtfWire.U32(raw, m)), CheckedRef(id, BtfWire.U32(raw, m + 4), m + 4),
                        kindFlag ? offset & 0xffffff : offset, kindFlag ? (byte)(offset >> 24) : (byte)0);
                }
                return new BtfComposite(this, id, name, kind == BtfKind.Union, sizeOrType, ImmutableCollectionsMarshal.AsImmutableArray(members));
            }
            case BtfKind.Enum or BtfKind.Enum64:
            {
                if (sizeOrType is not (1 or 2 or 4 or 8))
                    throw Malformed(id, at, $"enum size {sizeOrType} is not 1, 2, 4 or 8");
                bool is64 = kind == BtfKind.Enum64;
                var values = new BtfEnumValue[vlen];
                for (int i = 0, v = data; i < vlen; i++, v += is64 ? 12 : 8)
                {
                    uint low = BtfWire.U32(raw, v + 4);
                    long value = is64 ? (long)(((ulong)BtfWire.U32(raw, v + 8) << 32) | low)
                        : kindFlag ? (int)low : (long)low;
                    values[i] = new BtfEnumValue(GetString(BtfWire.U32(raw, v)), value);
                }
                return new BtfEnum(this, id, name, is64, kindFlag, sizeOrType, ImmutableCollectionsMarshal.AsImmutableArray(values));
            }
            case BtfKind.Fwd:
                return new BtfFwd(this, id, name, kindFlag);
            case BtfKind.Func:
                if (vlen > (int)BtfLinkage.Extern)
                    throw Malformed(id, at, $"func linkage {vlen} is not static, global or extern");
                return new BtfFunc(this, id, name, CheckedRef(id, sizeOrType, at + 8), (BtfLinkage)vlen);
            case BtfKind.FuncProto:
            {
                var parameters = new BtfParameter[vlen];
                for (int i = 0, p = data; i < vlen; i++, p += 8)
                    parameters[i] = new BtfParameter(GetString(BtfWire.U32(raw, p)), CheckedRef(id, BtfWire.U32(raw, p + 4), p + 4));
                return new BtfFuncProto(this, id, CheckedRef(id, sizeOrType, at + 8), ImmutableCollectionsMarshal.AsImmutableArray(parameters));
            }
            case BtfKind.Var:
            {
                uint linkage = BtfWire.U32(raw, data);
                if (linkage > (uint)BtfLinkage.Extern)
                    throw Malformed(id, at, $"var linkage {linkage} is not static, global or extern");
                return new BtfVar(this, id, name, CheckedRef(id, sizeOrType, at + 8), (BtfLinkage)linkage);
            }
            case BtfKind.Datasec:
            {
                var variables = new BtfVarSecInfo[vlen];
                for (int i = 0, v = data; i < vlen; i++, v += 12)
                    variables[i] = new BtfVarSecInfo(CheckedRef(id, BtfWire.U32(raw, v), v), BtfWire.U32(raw, v + 4), BtfWire.U32(raw, v + 8));
                return new BtfDatasec(this, id, name, sizeOrType, variables);
            }
            case BtfKind.DeclTag:
            {
                int component = (int)BtfWire.U32(raw, data);
                if (component < -1)
                    throw Malformed(id, at, $"decl_tag component index {component} is below -1");
                return new BtfDeclTag(this, id, name, CheckedRef(id, sizeOrType, at + 8), component);
            }
            default:
                // IndexTypes rejected unknown kinds already.
                throw Malformed(id, at, $"unknown kind {(int)kind}");
        }
    }

    private BpfFormatException Malformed(uint id, int absolute, string what) =>
        new($"type [{id}]: {what}", _source, BtfWire.TypePart, absolute - _typeStart);
}
