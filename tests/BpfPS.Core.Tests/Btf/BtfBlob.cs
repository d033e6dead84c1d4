using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>
/// A small BTF encoder private to these tests, written straight from Documentation/bpf/btf.rst and independent of
/// BtfBuilder, so the decoder is checked against a second reading of the format. It writes whatever it is told, so
/// malformed blobs are as easy as good ones (patch the result for header errors).
/// </summary>
internal sealed class BtfBlob
{
    private readonly List<byte> _types = new();
    private readonly List<byte> _strings = new();
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal);
    private readonly uint _stringBase;

    /// <summary>Standalone BTF: ids from 1, the string section starts with "".</summary>
    public BtfBlob()
    {
        NextId = 1;
        _strings.Add(0);
        _stringOffsets[""] = 0;
    }

    /// <summary>Split BTF over a base: ids from the base's next id, string offsets after the base's strings.</summary>
    public BtfBlob(BtfSpec baseSpec, IEnumerable<(string Name, uint Offset)>? baseStrings = null)
    {
        NextId = baseSpec.NextTypeId;
        for (var spec = baseSpec; spec is not null; spec = spec.Base)
            _stringBase += BinaryPrimitives.ReadUInt32LittleEndian(spec.RawBytes.Span[20..]);
        _stringOffsets[""] = 0;
        foreach (var (name, offset) in baseStrings ?? [])
            _stringOffsets[name] = offset;
    }

    public uint NextId { get; private set; }

    /// <summary>The offset of <paramref name="s"/>, adding it to the string section on first use.</summary>
    public uint Str(string s)
    {
        if (!_stringOffsets.TryGetValue(s, out uint offset))
        {
            offset = _stringBase + (uint)_strings.Count;
            _strings.AddRange(Encoding.UTF8.GetBytes(s));
            _strings.Add(0);
            _stringOffsets[s] = offset;
        }
        return offset;
    }

    /// <summary>Appends a btf_type header (trailing data follows through <see cref="U32"/>) and returns its id.</summary>
    public uint Type(uint nameOff, BtfKind kind, int vlen, bool kindFlag, uint sizeOrType)
    {
        U32(nameOff);
        U32((uint)vlen | ((uint)kind << 24) | (kindFlag ? 0x8000_0000u : 0));
        U32(sizeOrType);
        return NextId++;
    }

    public BtfBlob U32(uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        _types.AddRange(b.ToArray());
        return this;
    }

    public uint Int(string name, uint size, BtfIntEncoding encoding = BtfIntEncoding.None, uint bits = 0, uint bitOffset = 0)
    {
        uint id = Type(Str(name), BtfKind.Int, 0, false, size);
        U32(((uint)encoding << 24) | (bitOffset << 16) | (bits == 0 ? size * 8 : bits));
        return id;
    }

    public uint Float(string name, uint size) => Type(Str(name), BtfKind.Float, 0, false, size);
    public uint Ptr(uint target) => Type(0, BtfKind.Pointer, 0, false, target);
    public uint Typedef(string name, uint target) => Type(Str(name), BtfKind.Typedef, 0, false, target);
    public uint Const(uint target) => Type(0, BtfKind.Const, 0, false, target);
    public uint Volatile(uint target) => Type(0, BtfKind.Volatile, 0, false, target);
    public uint Restrict(uint target) => Type(0, BtfKind.Restrict, 0, false, target);
    public uint TypeTag(string name, uint target) => Type(Str(name), BtfKind.TypeTag, 0, false, target);
    public uint Fwd(string name, bool union = false) => Type(Str(name), BtfKind.Fwd, 0, union, 0);
    public uint Func(string name, uint proto, BtfLinkage linkage = BtfLinkage.Global) => Type(Str(name), BtfKind.Func, (int)linkage, false, proto);

    public uint Array(uint element, uint index, uint count)
    {
        uint id = Type(0, BtfKind.Array, 0, false, 0);
        U32(element).U32(index).U32(count);
        return id;
    }

    /// <summary>A struct; with any bitfield member the kind flag is set and offsets carry the bitfield size.</summary>
    public uint Struct(string name, uint size, params (string Name, uint Type, uint BitOffset, byte Bits)[] members) =>
        Composite(BtfKind.Struct, name, size, members);

    public uint Union(string name, uint size, params (string Name, uint Type, uint BitOffset, byte Bits)[] members) =>
        Composite(BtfKind.Union, name, size, members);

    private uint Composite(BtfKind kind, string name, uint size, (string Name, uint Type, uint BitOffset, byte Bits)[] members)
    {
        bool kindFlag = members.Any(m => m.Bits != 0);
        uint id = Type(Str(name), kind, members.Length, kindFlag, size);
        foreach (var m in members)
            U32(Str(m.Name)).U32(m.Type).U32(kindFlag ? ((uint)m.Bits << 24) | m.BitOffset : m.BitOffset);
        return id;
    }

    public uint Enum(string name, uint size, bool signed, params (string Name, long Value)[] values)
    {
        uint id = Type(Str(name), BtfKind.Enum, values.Length, signed, size);
        foreach (var v in values)
            U32(Str(v.Name)).U32((uint)v.Value);
        return id;
    }

    public uint Enum64(string name, uint size, bool signed, params (string Name, long Value)[] values)
    {
        uint id = Type(Str(name), BtfKind.Enum64, values.Length, signed, size);
        foreach (var v in values)
            U32(Str(v.Name)).U32((uint)v.Value).U32((uint)((ulong)v.Value >> 32));
        return id;
    }

    public uint FuncProto(uint returnType, params (string Name, uint Type)[] parameters)
    {
        uint id = Type(0, BtfKind.FuncProto, parameters.Length, false, returnType);
        foreach (var p in parameters)
            U32(Str(p.Name)).U32(p.Type);
        return id;
    }

    public uint Var(string name, uint type, BtfLinkage linkage = BtfLinkage.Global)
    {
        uint id = Type(Str(name), BtfKind.Var, 0, false, type);
        U32((uint)linkage);
        return id;
    }

    public uint Datasec(string name, uint size, params (uint Type, uint Offset, uint Size)[] variables)
    {
        uint id = Type(Str(name), BtfKind.Datasec, variables.Length, false, size);
        foreach (var v in variables)
            U32(v.Type).U32(v.Offset).U32(v.Size);
        return id;
    }

    public uint DeclTag(string name, uint target, int componentIndex)
    {
        uint id = Type(Str(name), BtfKind.DeclTag, 0, false, target);
        U32((uint)componentIndex);
        return id;
    }

    /// <summary>Header (24 bytes, type section first, strings right after), types, strings.</summary>
    public byte[] Build()
    {
        var blob = new byte[24 + _types.Count + _strings.Count];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xEB9F);
        blob[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), 24);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(16), (uint)_types.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(20), (uint)_strings.Count);
        _types.CopyTo(blob, 24);
        _strings.CopyTo(blob, 24 + _types.Count);
        return blob;
    }

    public BtfSpec Parse(string source = "test.btf") => BtfSpec.Parse(Build(), source);
    public BtfSpec ParseSplit(BtfSpec baseSpec, string source = "module.btf") => BtfSpec.Parse(Build(), source, baseSpec);

    /// <summary>Writes a little-endian u32 into a built blob (for header and type-section corruption).</summary>
    public static byte[] Patch(byte[] blob, int offset, uint value)
    {
        var copy = (byte[])blob.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(offset), value);
        return copy;
    }
}
