using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace BpfPS.Core.Btf;

/// <summary>
/// Encodes BTF types into a raw little-endian blob (header, type section, string section) as described in the kernel's
/// Documentation/bpf/btf.rst. Each Add* call appends one type and returns its id; <see cref="Build"/> returns the bytes.
/// Over a base spec it writes split BTF: ids continue after the base's last id and string offsets after the base's strings.
/// Type references are not checked: a builder is meant to write malformed BTF as readily as good BTF (tests need both).
/// </summary>
public sealed class BtfBuilder
{
    private const ushort Magic = 0xeB9F;
    private const int HeaderLength = 24;

    private readonly ArrayBufferWriter<byte> _types = new();
    private readonly ArrayBufferWriter<byte> _strings = new();
    private readonly Dictionary<string, uint> _stringOffsets = new(StringComparer.Ordinal);
    private readonly uint _firstStringOffset;

    /// <summary>A builder for standalone BTF: the first type gets id 1 and the string section starts with "".</summary>
    public BtfBuilder()
    {
        FirstTypeId = 1;
        NextTypeId = 1;
        _strings.Write(stackalloc byte[1]);   // offset 0 is always the empty string
    }

    /// <summary>A builder for split BTF over <paramref name="baseSpec"/> (like a kernel module's BTF over vmlinux).</summary>
    public BtfBuilder(BtfSpec baseSpec)
    {
        ArgumentNullException.ThrowIfNull(baseSpec);
        Base = baseSpec;
        FirstTypeId = baseSpec.NextTypeId;
        NextTypeId = FirstTypeId;
        // Split string offsets start where the base's strings end; "" stays at offset 0, inside the base.
        _firstStringOffset = StringSectionEnd(baseSpec);
    }

    /// <summary>The base spec for split BTF, else null.</summary>
    public BtfSpec? Base { get; }
    /// <summary>Id of the first type this builder adds.</summary>
    public uint FirstTypeId { get; }
    /// <summary>Id the next Add* call will return.</summary>
    public uint NextTypeId { get; private set; }

    public uint AddInt(string name, uint size, BtfIntEncoding encoding = BtfIntEncoding.None) =>
        AddInt(name, size, encoding, 0, checked((byte)(size * 8)));

    /// <summary>An int with explicit bit offset and width (the deprecated bitfield-like int encoding).</summary>
    public uint AddInt(string name, uint size, BtfIntEncoding encoding, byte bitOffset, byte bits)
    {
        uint id = WriteType(name, BtfKind.Int, 0, false, size);
        WriteU32(((uint)encoding << 24) | ((uint)bitOffset << 16) | bits);
        return id;
    }

    public uint AddFloat(string name, uint size) => WriteType(name, BtfKind.Float, 0, false, size);

    public uint AddPointer(uint typeId) => WriteType("", BtfKind.Pointer, 0, false, typeId);

    public uint AddArray(uint elementTypeId, uint indexTypeId, uint count)
    {
        uint id = WriteType("", BtfKind.Array, 0, false, 0);
        WriteU32(elementTypeId);
        WriteU32(indexTypeId);
        WriteU32(count);
        return id;
    }

    /// <summary>A struct. Members with a non-zero <see cref="BtfMember.BitfieldSize"/> set kind_flag and use the bitfield encoding.</summary>
    public uint AddStruct(string name, uint size, params BtfMember[] members) => AddComposite(name, BtfKind.Struct, size, members);

    public uint AddUnion(string name, uint size, params BtfMember[] members) => AddComposite(name, BtfKind.Union, size, members);

    /// <summary>A 32-bit-valued enum; each value's low 32 bits are stored.</summary>
    public uint AddEnum(string name, uint size, bool isSigned, params BtfEnumValue[] values)
    {
        uint id = WriteType(name, BtfKind.Enum, Vlen(values.Length), isSigned, size);
        foreach (var value in values)
        {
            WriteU32(AddString(value.Name));
            WriteU32((uint)value.Value);
        }
        return id;
    }

    public uint AddEnum64(string name, uint size, bool isSigned, params BtfEnumValue[] values)
    {
        uint id = WriteType(name, BtfKind.Enum64, Vlen(values.Length), isSigned, size);
        foreach (var value in values)
        {
            WriteU32(AddString(value.Name));
            WriteU32((uint)value.Value);
            WriteU32((uint)((ulong)value.Value >> 32));
        }
        return id;
    }

    public uint AddFwd(string name, bool isUnion = false) => WriteType(name, BtfKind.Fwd, 0, isUnion, 0);

    public uint AddTypedef(string name, uint typeId) => WriteType(name, BtfKind.Typedef, 0, false, typeId);

    public uint AddVolatile(uint typeId) => WriteType("", BtfKind.Volatile, 0, false, typeId);

    public uint AddConst(uint typeId) => WriteType("", BtfKind.Const, 0, false, typeId);

    public uint AddRestrict(uint typeId) => WriteType("", BtfKind.Restrict, 0, false, typeId);

    public uint AddTypeTag(string name, uint typeId) => WriteType(name, BtfKind.TypeTag, 0, false, typeId);

    /// <summary>A function; BTF stores the linkage in the vlen field.</summary>
    public uint AddFunc(string name, uint protoTypeId, BtfLinkage linkage = BtfLinkage.Static) =>
        WriteType(name, BtfKind.Func, Vlen((int)linkage), false, protoTypeId);

    /// <summary>A function prototype; pass a last parameter ("", 0) for a variadic function.</summary>
    public uint AddFuncProto(uint returnTypeId, params BtfParameter[] parameters)
    {
        uint id = WriteType("", BtfKind.FuncProto, Vlen(parameters.Length), false, returnTypeId);
        foreach (var parameter in parameters)
        {
            WriteU32(AddString(parameter.Name));
            WriteU32(parameter.TypeId);
        }
        return id;
    }

    public uint AddVar(string name, uint typeId, BtfLinkage linkage = BtfLinkage.Global)
    {
        uint id = WriteType(name, BtfKind.Var, 0, false, typeId);
        WriteU32((uint)linkage);
        return id;
    }

    public uint AddDatasec(string name, uint size, params BtfVarSecInfo[] variables)
    {
        uint id = WriteType(name, BtfKind.Datasec, Vlen(variables.Length), false, size);
        foreach (var variable in variables)
        {
            WriteU32(variable.TypeId);
            WriteU32(variable.Offset);
            WriteU32(variable.Size);
        }
        return id;
    }

    /// <summary>A decl tag on a type (<paramref name="componentIndex"/> -1) or on one of its members or parameters.</summary>
    public uint AddDeclTag(string name, uint typeId, int componentIndex = -1)
    {
        uint id = WriteType(name, BtfKind.DeclTag, 0, false, typeId);
        WriteU32((uint)componentIndex);
        return id;
    }

    /// <summary>Adds a string (deduplicated) and returns its offset, e.g. for .BTF.ext section names and CO-RE access strings.</summary>
    public uint AddString(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length == 0)
            return 0;
        if (_stringOffsets.TryGetValue(value, out uint offset))
            return offset;
        offset = checked(_firstStringOffset + (uint)_strings.WrittenCount);
        int byteCount = Encoding.UTF8.GetByteCount(value);
        var span = _strings.GetSpan(byteCount + 1);
        Encoding.UTF8.GetBytes(value, span);
        span[byteCount] = 0;
        _strings.Advance(byteCount + 1);
        _stringOffsets.Add(value, offset);
        return offset;
    }

    /// <summary>The raw BTF blob: header, types, strings.</summary>
    public byte[] Build()
    {
        int typeLength = _types.WrittenCount, stringLength = _strings.WrittenCount;
        var blob = new byte[HeaderLength + typeLength + stringLength];
        var header = blob.AsSpan(0, HeaderLength);
        BinaryPrimitives.WriteUInt16LittleEndian(header, Magic);
        header[2] = 1;                                                         // version
        header[3] = 0;                                                         // flags
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], HeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], 0);              // type_off
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)typeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)typeLength); // str_off
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)stringLength);
        _types.WrittenSpan.CopyTo(blob.AsSpan(HeaderLength));
        _strings.WrittenSpan.CopyTo(blob.AsSpan(HeaderLength + typeLength));
        return blob;
    }

    /// <summary>Builds and parses the blob (split on <see cref="Base"/> when there is one).</summary>
    public BtfSpec BuildSpec(string source = "BtfBuilder") => BtfSpec.Parse(Build(), source, Base);

    private uint AddComposite(string name, BtfKind kind, uint size, BtfMember[] members)
    {
        bool hasBitfields = false;
        foreach (var member in members)
            hasBitfields |= member.BitfieldSize != 0;
        uint id = WriteType(name, kind, Vlen(members.Length), hasBitfields, size);
        foreach (var member in members)
        {
            WriteU32(AddString(member.Name));
            WriteU32(member.TypeId);
            if (hasBitfields)
            {
                // kind_flag set: bitfield size in the top 8 bits, bit offset in the low 24.
                if (member.BitOffset > 0xffffff)
                    throw new ArgumentOutOfRangeException(nameof(members), $"member '{member.Name}': bit offset {member.BitOffset} does not fit 24 bits");
                WriteU32(((uint)member.BitfieldSize << 24) | member.BitOffset);
            }
            else
            {
                WriteU32(member.BitOffset);
            }
        }
        return id;
    }

    private uint WriteType(string name, BtfKind kind, ushort vlen, bool kindFlag, uint sizeOrType)
    {
        uint nameOffset = AddString(name);
        WriteU32(nameOffset);
        WriteU32((kindFlag ? 1u << 31 : 0) | ((uint)kind << 24) | vlen);
        WriteU32(sizeOrType);
        return NextTypeId++;
    }

    private void WriteU32(uint value)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(_types.GetSpan(4), value);
        _types.Advance(4);
    }

    private static ushort Vlen(int count) =>
        count is >= 0 and <= ushort.MaxValue ? (ushort)count : throw new ArgumentOutOfRangeException(nameof(count), "BTF vlen holds at most 65535 entries");

    /// <summary>One past the last string offset a spec (and its bases) owns: where a split spec's strings begin.</summary>
    private static uint StringSectionEnd(BtfSpec spec)
    {
        uint start = spec.Base is null ? 0 : StringSectionEnd(spec.Base);
        var raw = spec.RawBytes.Span;
        if (raw.Length < HeaderLength || BinaryPrimitives.ReadUInt16LittleEndian(raw) != Magic)
            throw new ArgumentException($"{spec.Source}: base BTF is not a little-endian BTF blob", nameof(spec));
        return checked(start + BinaryPrimitives.ReadUInt32LittleEndian(raw[20..]));
    }
}
