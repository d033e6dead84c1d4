using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace BpfPS.Core.Btf;

/// <summary>BTF kinds, numbered as in the kernel's uapi/linux/btf.h.</summary>
public enum BtfKind : byte
{
    Void = 0, Int = 1, Pointer = 2, Array = 3, Struct = 4, Union = 5, Enum = 6, Fwd = 7, Typedef = 8,
    Volatile = 9, Const = 10, Restrict = 11, Func = 12, FuncProto = 13, Var = 14, Datasec = 15, Float = 16,
    DeclTag = 17, TypeTag = 18, Enum64 = 19,
}

/// <summary>Linkage of a BTF func or var (btf_func_linkage / var linkage).</summary>
public enum BtfLinkage : uint { Static = 0, Global = 1, Extern = 2 }

/// <summary>Encoding bits of a BTF int.</summary>
[Flags]
public enum BtfIntEncoding : byte { None = 0, Signed = 1, Char = 2, Bool = 4 }

/// <summary>
/// One decoded BTF type. Instances are immutable and shared: a spec decodes each type at most once and hands out the
/// same instance to every caller (many threads, many loads). References to other types are ids, resolved through
/// <see cref="Spec"/>, so a type graph never needs copying and cycles are harmless to hold.
/// </summary>
public abstract class BtfType
{
    private protected BtfType(BtfSpec spec, uint id, string name)
    {
        Spec = spec;
        Id = id;
        Name = name;
    }

    /// <summary>The spec this type belongs to (for split BTF, the spec whose id range holds <see cref="Id"/>).</summary>
    public BtfSpec Spec { get; }
    /// <summary>Type id (0 is void).</summary>
    public uint Id { get; }
    /// <summary>Name, or "" for anonymous types.</summary>
    public string Name { get; }
    public abstract BtfKind Kind { get; }
    /// <summary>Size in bytes for sized kinds (int, struct, union, enum, datasec, float), else null.</summary>
    public virtual uint? Size => null;

    public override string ToString() => Name.Length == 0 ? $"{Kind} #{Id}" : $"{Kind} {Name} #{Id}";
}

public sealed class BtfVoid : BtfType
{
    internal BtfVoid(BtfSpec spec) : base(spec, 0, "") { }
    public override BtfKind Kind => BtfKind.Void;
}

public sealed class BtfInt : BtfType
{
    public BtfInt(BtfSpec spec, uint id, string name, uint size, BtfIntEncoding encoding, byte bitOffset, byte bits)
        : base(spec, id, name) { ByteSize = size; Encoding = encoding; BitOffset = bitOffset; Bits = bits; }
    public uint ByteSize { get; }
    public override uint? Size => ByteSize;
    public BtfIntEncoding Encoding { get; }
    public bool IsSigned => (Encoding & BtfIntEncoding.Signed) != 0;
    public byte BitOffset { get; }
    public byte Bits { get; }
    public override BtfKind Kind => BtfKind.Int;
}

public sealed class BtfFloat : BtfType
{
    public BtfFloat(BtfSpec spec, uint id, string name, uint size) : base(spec, id, name) => ByteSize = size;
    public uint ByteSize { get; }
    public override uint? Size => ByteSize;
    public override BtfKind Kind => BtfKind.Float;
}

/// <summary>Kinds that only point at one other type: pointer, typedef, volatile, const, restrict, type_tag.</summary>
public sealed class BtfReference : BtfType
{
    public BtfReference(BtfSpec spec, uint id, BtfKind kind, string name, uint typeId) : base(spec, id, name)
    {
        if (kind is not (BtfKind.Pointer or BtfKind.Typedef or BtfKind.Volatile or BtfKind.Const or BtfKind.Restrict or BtfKind.TypeTag))
            throw new ArgumentOutOfRangeException(nameof(kind));
        ReferenceKind = kind;
        TypeId = typeId;
    }
    private BtfKind ReferenceKind { get; }
    public override BtfKind Kind => ReferenceKind;
    /// <summary>The type pointed to, qualified, aliased or tagged.</summary>
    public uint TypeId { get; }
}

public sealed class BtfArray : BtfType
{
    public BtfArray(BtfSpec spec, uint id, uint elementTypeId, uint indexTypeId, uint count) : base(spec, id, "")
    { ElementTypeId = elementTypeId; IndexTypeId = indexTypeId; Count = count; }
    public uint ElementTypeId { get; }
    public uint IndexTypeId { get; }
    public uint Count { get; }
    public override BtfKind Kind => BtfKind.Array;
}

/// <summary>A struct or union member. <see cref="BitOffset"/> is from the start of the composite.</summary>
public readonly record struct BtfMember(string Name, uint TypeId, uint BitOffset, byte BitfieldSize);

/// <summary>Struct or union.</summary>
public sealed class BtfComposite : BtfType
{
    public BtfComposite(BtfSpec spec, uint id, string name, bool isUnion, uint size, ImmutableArray<BtfMember> members)
        : base(spec, id, name) { IsUnion = isUnion; ByteSize = size; Members = members; }
    public bool IsUnion { get; }
    public uint ByteSize { get; }
    public override uint? Size => ByteSize;
    public ImmutableArray<BtfMember> Members { get; }
    public override BtfKind Kind => IsUnion ? BtfKind.Union : BtfKind.Struct;
}

/// <summary>One enumerator. <see cref="Value"/> holds the raw 64 bits: read it signed or unsigned per <see cref="BtfEnum.IsSigned"/>.</summary>
public readonly record struct BtfEnumValue(string Name, long Value);

/// <summary>Enum (32-bit values, sign- or zero-extended into 64 bits) or enum64.</summary>
public sealed class BtfEnum : BtfType
{
    public BtfEnum(BtfSpec spec, uint id, string name, bool is64, bool isSigned, uint size, ImmutableArray<BtfEnumValue> values)
        : base(spec, id, name) { Is64 = is64; IsSigned = isSigned; ByteSize = size; Values = values; }
    public bool Is64 { get; }
    public bool IsSigned { get; }
    public uint ByteSize { get; }
    public override uint? Size => ByteSize;
    public ImmutableArray<BtfEnumValue> Values { get; }
    public override BtfKind Kind => Is64 ? BtfKind.Enum64 : BtfKind.Enum;
}

public sealed class BtfFwd : BtfType
{
    public BtfFwd(BtfSpec spec, uint id, string name, bool isUnion) : base(spec, id, name) => IsUnion = isUnion;
    public bool IsUnion { get; }
    public override BtfKind Kind => BtfKind.Fwd;
}

public sealed class BtfFunc : BtfType
{
    public BtfFunc(BtfSpec spec, uint id, string name, uint protoTypeId, BtfLinkage linkage) : base(spec, id, name)
    { ProtoTypeId = protoTypeId; Linkage = linkage; }
    public uint ProtoTypeId { get; }
    public BtfLinkage Linkage { get; }
    public override BtfKind Kind => BtfKind.Func;
}

public readonly record struct BtfParameter(string Name, uint TypeId);

public sealed class BtfFuncProto : BtfType
{
    public BtfFuncProto(BtfSpec spec, uint id, uint returnTypeId, ImmutableArray<BtfParameter> parameters) : base(spec, id, "")
    { ReturnTypeId = returnTypeId; Parameters = parameters; }
    public uint ReturnTypeId { get; }
    /// <summary>Parameters; a last entry with name "" and type 0 means variadic.</summary>
    public ImmutableArray<BtfParameter> Parameters { get; }
    public override BtfKind Kind => BtfKind.FuncProto;
}

public sealed class BtfVar : BtfType
{
    public BtfVar(BtfSpec spec, uint id, string name, uint typeId, BtfLinkage linkage) : base(spec, id, name)
    { TypeId = typeId; Linkage = linkage; }
    public uint TypeId { get; }
    public BtfLinkage Linkage { get; }
    public override BtfKind Kind => BtfKind.Var;
}

/// <summary>A variable's place in a data section.</summary>
public readonly record struct BtfVarSecInfo(uint TypeId, uint Offset, uint Size);

public sealed class BtfDatasec : BtfType
{
    public BtfDatasec(BtfSpec spec, uint id, string name, uint size, ImmutableArray<BtfVarSecInfo> variables)
        : this(spec, id, name, size, ImmutableCollectionsMarshal.AsArray(variables) ?? new BtfVarSecInfo[0])
    {
    }

    internal BtfDatasec(BtfSpec spec, uint id, string name, uint size, BtfVarSecInfo[] variables) : base(spec, id, name)
    { ByteSize = size; VariableArray = variables; }
    public uint ByteSize { get; }
    public override uint? Size => ByteSize;
    public ImmutableArray<BtfVarSecInfo> Variables => ImmutableCollectionsMarshal.AsImmutableArray(VariableArray);
    /// <summary>
    /// What the loader reads (<see cref="Variables"/> wraps it without a copy): ImmutableArray members over BtfVarSecInfo
    /// were JIT-compiled at the first load of every session, as ReadyToRun cannot precompile them here.
    /// </summary>
    internal BtfVarSecInfo[] VariableArray { get; }
    public override BtfKind Kind => BtfKind.Datasec;
}

public sealed class BtfDeclTag : BtfType
{
    public BtfDeclTag(BtfSpec spec, uint id, string name, uint typeId, int componentIndex) : base(spec, id, name)
    { TypeId = typeId; ComponentIndex = componentIndex; }
    public uint TypeId { get; }
    /// <summary>-1 when the tag applies to the type itself, else the member or parameter index.</summary>
    public int ComponentIndex { get; }
    public override BtfKind Kind => BtfKind.DeclTag;
}
