using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// The builder's bytes checked field by field against the layout in the kernel's Documentation/bpf/btf.rst
/// (struct btf_header, struct btf_type, the per-kind trailers), independently of the decoder.
/// </summary>
public class BtfBuilderTests
{
    private static uint U32(byte[] blob, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(blob.AsSpan(offset));

    [Fact]
    public void HeaderDescribesTypeAndStringSections()
    {
        var builder = new BtfBuilder();
        builder.AddInt("int", 4, BtfIntEncoding.Signed);
        var blob = builder.Build();

        Assert.Equal(0xeB9F, BinaryPrimitives.ReadUInt16LittleEndian(blob));
        Assert.Equal(1, blob[2]);          // version
        Assert.Equal(0, blob[3]);          // flags
        Assert.Equal(24u, U32(blob, 4));   // hdr_len
        Assert.Equal(0u, U32(blob, 8));    // type_off
        Assert.Equal(16u, U32(blob, 12));  // type_len: btf_type (12) + int trailer (4)
        Assert.Equal(16u, U32(blob, 16));  // str_off
        Assert.Equal(5u, U32(blob, 20));   // str_len: "\0int\0"
        Assert.Equal(24 + 16 + 5, blob.Length);
        Assert.Equal("\0int\0", Encoding.ASCII.GetString(blob, 40, 5));
    }

    [Fact]
    public void IntEncodesKindSizeAndEncodingWord()
    {
        var builder = new BtfBuilder();
        uint id = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        var blob = builder.Build();

        Assert.Equal(1u, id);
        Assert.Equal(1u, U32(blob, 24));                       // name_off -> "int"
        Assert.Equal(0x01000000u, U32(blob, 28));              // info: kind INT (1) << 24, vlen 0
        Assert.Equal(4u, U32(blob, 32));                       // size
        Assert.Equal((1u << 24) | 32u, U32(blob, 36));         // BTF_INT_SIGNED << 24 | offset 0 | 32 bits
    }

    [Fact]
    public void StructWithBitfieldSetsKindFlagAndPacksBitfieldSize()
    {
        var builder = new BtfBuilder();
        uint u32 = builder.AddInt("unsigned int", 4);
        uint id = builder.AddStruct("s", 4, new BtfMember("a", u32, 0, 3), new BtfMember("b", u32, 3, 5));
        var blob = builder.Build();

        Assert.Equal(2u, id);
        int type = 24 + 16;
        Assert.Equal(0x80000000u | (4u << 24) | 2u, U32(blob, type + 4));   // kind_flag | STRUCT | vlen 2
        Assert.Equal(4u, U32(blob, type + 8));
        Assert.Equal(u32, U32(blob, type + 12 + 4));                          // member a: type
        Assert.Equal((3u << 24) | 0u, U32(blob, type + 12 + 8));              // bitfield_size 3, bit offset 0
        Assert.Equal((5u << 24) | 3u, U32(blob, type + 24 + 8));              // bitfield_size 5, bit offset 3
    }

    [Fact]
    public void StructWithoutBitfieldsKeepsPlainBitOffsets()
    {
        var builder = new BtfBuilder();
        uint i32 = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        builder.AddStruct("s", 8, new BtfMember("a", i32, 0, 0), new BtfMember("b", i32, 32, 0));
        var blob = builder.Build();
        int type = 24 + 16;
        Assert.Equal((4u << 24) | 2u, U32(blob, type + 4));
        Assert.Equal(32u, U32(blob, type + 24 + 8));
    }

    [Fact]
    public void Enum64StoresLowAndHighHalves()
    {
        var builder = new BtfBuilder();
        builder.AddEnum64("e", 8, isSigned: false, new BtfEnumValue("BIG", 0x0000_0002_0000_0005));
        var blob = builder.Build();
        Assert.Equal((19u << 24) | 1u, U32(blob, 28));   // ENUM64, vlen 1, unsigned
        Assert.Equal(8u, U32(blob, 32));
        Assert.Equal(5u, U32(blob, 36 + 4));              // val_lo32
        Assert.Equal(2u, U32(blob, 36 + 8));              // val_hi32
    }

    [Fact]
    public void SignedEnumSetsKindFlag()
    {
        var builder = new BtfBuilder();
        builder.AddEnum("e", 4, isSigned: true, new BtfEnumValue("MINUS", -1));
        var blob = builder.Build();
        Assert.Equal(0x80000000u | (6u << 24) | 1u, U32(blob, 28));
        Assert.Equal(0xffffffffu, U32(blob, 36 + 4));
    }

    [Fact]
    public void FuncKeepsLinkageInVlenAndVarHasLinkageTrailer()
    {
        var builder = new BtfBuilder();
        uint proto = builder.AddFuncProto(0);
        builder.AddFunc("f", proto, BtfLinkage.Global);
        builder.AddVar("v", 0, BtfLinkage.Static);
        var blob = builder.Build();
        int func = 24 + 12;              // the proto has no parameters
        Assert.Equal((12u << 24) | 1u, U32(blob, func + 4));
        Assert.Equal(proto, U32(blob, func + 8));
        int variable = func + 12;
        Assert.Equal(14u << 24, U32(blob, variable + 4));
        Assert.Equal(0u, U32(blob, variable + 12));
    }

    [Fact]
    public void StringsAreDeduplicatedAndEmptyNameIsOffsetZero()
    {
        var builder = new BtfBuilder();
        uint a = builder.AddString("x");
        uint b = builder.AddString("x");
        Assert.Equal(a, b);
        Assert.Equal(0u, builder.AddString(""));
        uint pointer = builder.AddPointer(0);
        var blob = builder.Build();
        Assert.Equal(0u, U32(blob, 24));   // anonymous pointer
        Assert.Equal(1u, pointer);
    }

    [Fact]
    public void VlenBeyond16BitsIsRefused()
    {
        var builder = new BtfBuilder();
        var members = new BtfMember[65536];
        for (int i = 0; i < members.Length; i++)
            members[i] = new BtfMember("", 0, 0, 0);
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddStruct("huge", 0, members));
    }

    [Fact]
    public void BuiltBlobDecodesToTheSameTypes()
    {
        var builder = new BtfBuilder();
        uint i32 = builder.AddInt("int", 4, BtfIntEncoding.Signed);
        uint pointer = builder.AddPointer(i32);
        uint array = builder.AddArray(i32, i32, 3);
        uint s = builder.AddStruct("s", 32, new BtfMember("p", pointer, 0, 0), new BtfMember("arr", array, 64, 0), new BtfMember("bits", i32, 160, 4));
        uint e = builder.AddEnum("e", 4, false, new BtfEnumValue("A", 1), new BtfEnumValue("B", 2));
        uint typedef = builder.AddTypedef("s_t", s);
        uint constant = builder.AddConst(typedef);
        uint fwd = builder.AddFwd("u", isUnion: true);
        uint f = builder.AddFloat("double", 8);
        uint tag = builder.AddTypeTag("user", i32);
        uint decl = builder.AddDeclTag("tag", s, 1);
        var spec = builder.BuildSpec("built");

        Assert.Equal(11, spec.TypeCount);
        var decoded = Assert.IsType<BtfComposite>(spec.GetType(s));
        Assert.Equal("s", decoded.Name);
        Assert.Equal(32u, decoded.ByteSize);
        Assert.Equal(new BtfMember("bits", i32, 160, 4), decoded.Members[2]);
        Assert.Equal(new BtfMember("arr", array, 64, 0), decoded.Members[1]);
        Assert.Equal(3u, Assert.IsType<BtfArray>(spec.GetType(array)).Count);
        Assert.Equal(2, Assert.IsType<BtfEnum>(spec.GetType(e)).Values.Length);
        Assert.Equal(s, Assert.IsType<BtfReference>(spec.GetType(typedef)).TypeId);
        Assert.Equal(BtfKind.Const, spec.GetKind(constant));
        Assert.True(Assert.IsType<BtfFwd>(spec.GetType(fwd)).IsUnion);
        Assert.Equal(8u, Assert.IsType<BtfFloat>(spec.GetType(f)).ByteSize);
        Assert.Equal(BtfKind.TypeTag, spec.GetKind(tag));
        Assert.Equal(1, Assert.IsType<BtfDeclTag>(spec.GetType(decl)).ComponentIndex);
    }

    [Fact]
    public void SplitBuilderContinuesIdsAndStringsAfterTheBase()
    {
        var baseBuilder = new BtfBuilder();
        uint i32 = baseBuilder.AddInt("int", 4, BtfIntEncoding.Signed);
        var baseSpec = baseBuilder.BuildSpec("base");
        int baseStringLength = (int)BinaryPrimitives.ReadUInt32LittleEndian(baseSpec.RawBytes.Span[20..]);

        var split = new BtfBuilder(baseSpec);
        Assert.Equal(2u, split.FirstTypeId);
        uint s = split.AddStruct("mod_s", 4, new BtfMember("x", i32, 0, 0));
        Assert.Equal(2u, s);
        var blob = split.Build();
        Assert.Equal((uint)baseStringLength, U32(blob, 24));   // first split string follows the base's

        var spec = split.BuildSpec("module");
        Assert.Same(baseSpec, spec.Base);
        Assert.Equal("mod_s", spec.GetType(s).Name);
        Assert.Equal("x", Assert.IsType<BtfComposite>(spec.GetType(s)).Members[0].Name);
        Assert.Equal("int", spec.GetType(i32).Name);
    }
}
