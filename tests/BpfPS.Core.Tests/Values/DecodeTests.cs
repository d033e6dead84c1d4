using System.Buffers.Binary;
using BpfPS.Core.Btf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>Decoding hand-built BTF types; expected values follow from the C layout rules the bytes are written by.</summary>
public class DecodeTests
{
    [Theory]
    [InlineData(1u, true, new byte[] { 0x80 }, (sbyte)-128)]
    [InlineData(1u, false, new byte[] { 0x80 }, (byte)128)]
    [InlineData(2u, true, new byte[] { 0xfe, 0xff }, (short)-2)]
    [InlineData(2u, false, new byte[] { 0xfe, 0xff }, (ushort)65534)]
    [InlineData(4u, true, new byte[] { 0xff, 0xff, 0xff, 0x7f }, int.MaxValue)]
    [InlineData(4u, false, new byte[] { 0xff, 0xff, 0xff, 0xff }, uint.MaxValue)]
    [InlineData(8u, true, new byte[] { 0, 0, 0, 0, 0, 0, 0, 0x80 }, long.MinValue)]
    [InlineData(8u, false, new byte[] { 1, 0, 0, 0, 0, 0, 0, 0x80 }, 0x8000000000000001UL)]
    public void IntsKeepWidthAndSignedness(uint size, bool signed, byte[] bytes, object expected)
    {
        var b = new BtfBuilder();
        uint id = b.AddInt("n", size, signed ? BtfIntEncoding.Signed : BtfIntEncoding.None);
        var value = BtfValueCodec.Decode(b.BuildSpec(), id, bytes);
        Assert.Equal(expected, value);
        Assert.IsType(expected.GetType(), value);
    }

    [Fact]
    public void Int128IsDecodedWhole()
    {
        var b = new BtfBuilder();
        uint id = b.AddInt("__int128", 16, BtfIntEncoding.Signed);
        var bytes = Enumerable.Repeat((byte)0xff, 16).ToArray();
        Assert.Equal((Int128)(-1), BtfValueCodec.Decode(b.BuildSpec(), id, bytes));
    }

    [Fact]
    public void BoolIsABoolean()
    {
        var b = new BtfBuilder();
        uint id = b.AddInt("_Bool", 1, BtfIntEncoding.Bool);
        var spec = b.BuildSpec();
        Assert.Equal(false, BtfValueCodec.Decode(spec, id, [0]));
        Assert.Equal(true, BtfValueCodec.Decode(spec, id, [1]));
    }

    [Fact]
    public void CharArrayIsTextUpToTheFirstNulOrTheEnd()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint ch = b.AddInt("char", 1, BtfIntEncoding.Signed);
        uint arr = b.AddArray(ch, u32, 4);
        var spec = b.BuildSpec();
        Assert.Equal("ab", BtfValueCodec.Decode(spec, arr, "ab\0z"u8));
        Assert.Equal("abcd", BtfValueCodec.Decode(spec, arr, "abcd"u8));
        Assert.Equal("", BtfValueCodec.Decode(spec, arr, new byte[4]));
    }

    [Fact]
    public void SignedByteArrayIsNumbersAndUnsignedByteArrayIsBytes()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s8 = b.AddInt("signed char", 1, BtfIntEncoding.Signed);
        uint u8 = b.AddInt("unsigned char", 1);
        uint signedArray = b.AddArray(s8, u32, 2);
        uint byteArray = b.AddArray(u8, u32, 2);
        var spec = b.BuildSpec();
        Assert.Equal(new object[] { (sbyte)-1, (sbyte)2 }, BtfValueCodec.Decode(spec, signedArray, [0xff, 2]));
        Assert.Equal(new byte[] { 0xff, 2 }, BtfValueCodec.Decode(spec, byteArray, [0xff, 2]));
    }

    [Fact]
    public void EnumReadsAsNameWhenItMatchesElseAsNumber()
    {
        var b = new BtfBuilder();
        uint e = b.AddEnum("state", 4, true, new BtfEnumValue("IDLE", 0), new BtfEnumValue("FAILED", -1));
        var spec = b.BuildSpec();
        Assert.Equal("IDLE", BtfValueCodec.Decode(spec, e, new byte[4]));
        Assert.Equal("FAILED", BtfValueCodec.Decode(spec, e, [0xff, 0xff, 0xff, 0xff]));
        Assert.Equal(-2, BtfValueCodec.Decode(spec, e, [0xfe, 0xff, 0xff, 0xff]));
    }

    [Fact]
    public void Enum64WithAHighValue()
    {
        var b = new BtfBuilder();
        uint e = b.AddEnum64("big", 8, false, new BtfEnumValue("TOP", unchecked((long)0x8000000000000000UL)));
        var spec = b.BuildSpec();
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 0x8000000000000000UL);
        Assert.Equal("TOP", BtfValueCodec.Decode(spec, e, bytes));
        Assert.Equal(5UL, BtfValueCodec.Decode(spec, e, [5, 0, 0, 0, 0, 0, 0, 0]));
    }

    [Fact]
    public void TypedefsAndQualifiersAreLookedThrough()
    {
        var b = new BtfBuilder();
        uint u16 = b.AddInt("unsigned short", 2);
        uint typedef = b.AddTypedef("port_t", b.AddVolatile(b.AddConst(u16)));
        Assert.Equal((ushort)0x1234, BtfValueCodec.Decode(b.BuildSpec(), typedef, [0x34, 0x12]));
    }

    [Fact]
    public void PointersAndFloats()
    {
        var b = new BtfBuilder();
        uint ptr = b.AddPointer(0);
        uint f32 = b.AddFloat("float", 4);
        uint f64 = b.AddFloat("double", 8);
        var spec = b.BuildSpec();
        Assert.Equal(0xffff888000001000UL, BtfValueCodec.Decode(spec, ptr, BitConverter.GetBytes(0xffff888000001000UL)));
        Assert.Equal(1.5f, BtfValueCodec.Decode(spec, f32, BitConverter.GetBytes(1.5f)));
        Assert.Equal(-0.125, BtfValueCodec.Decode(spec, f64, BitConverter.GetBytes(-0.125)));
    }

    [Fact]
    public void NestedAnonymousMembersAreFlattenedAtEveryLevel()
    {
        // struct outer { u32 a; union { u32 b; struct { u16 c; u16 d; }; }; };
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint u16 = b.AddInt("unsigned short", 2);
        uint inner = b.AddStruct("", 4, new BtfMember("c", u16, 0, 0), new BtfMember("d", u16, 16, 0));
        uint union = b.AddUnion("", 4, new BtfMember("b", u32, 0, 0), new BtfMember("", inner, 0, 0));
        uint outer = b.AddStruct("outer", 8, new BtfMember("a", u32, 0, 0), new BtfMember("", union, 32, 0));
        var bytes = new byte[] { 9, 0, 0, 0, 0x01, 0x00, 0x02, 0x00 };

        var record = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(b.BuildSpec(), outer, bytes));
        Assert.Equal(["a", "b", "c", "d"], record.Keys);
        Assert.Equal(9u, record["a"]);
        Assert.Equal(0x00020001u, record["b"]);
        Assert.Equal((ushort)1, record["c"]);
        Assert.Equal((ushort)2, record["d"]);
    }

    [Fact]
    public void OldStyleIntBitfieldsAreExtracted()
    {
        // Without kind_flag, a bitfield is an int type carrying its own width; the member offset need not be byte aligned.
        var b = new BtfBuilder();
        uint u3 = b.AddInt("unsigned int", 4, BtfIntEncoding.None, 0, 3);
        uint s5 = b.AddInt("int", 4, BtfIntEncoding.Signed, 0, 5);
        uint s = b.AddStruct("old", 4, new BtfMember("x", u3, 0, 0), new BtfMember("y", s5, 3, 0));
        // x = 6 (bits 0-2), y = -2 (bits 3-7: 0b11110)
        byte packed = (byte)(6 | (0b11110 << 3));
        var record = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(b.BuildSpec(), s, [packed, 0, 0, 0]));
        Assert.Equal(6u, record["x"]);
        Assert.Equal(-2, record["y"]);
    }

    [Fact]
    public void BitfieldsAcrossByteBoundaries()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("s", 4, new BtfMember("lo", u32, 0, 5), new BtfMember("mid", u32, 5, 10), new BtfMember("hi", u32, 15, 17));
        uint word = (0x1fu) | (0x2aau << 5) | (0x1_5555u << 15);
        var record = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(b.BuildSpec(), s, BitConverter.GetBytes(word)));
        Assert.Equal(0x1fu, record["lo"]);
        Assert.Equal(0x2aau, record["mid"]);
        Assert.Equal(0x1_5555u, record["hi"]);
    }

    [Fact]
    public void DataSectionReadsAsItsVariables()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint u64 = b.AddInt("unsigned long long", 8);
        uint counter = b.AddVar("counter", i32);
        uint total = b.AddVar("total", u64);
        uint sec = b.AddDatasec(".data", 16, new BtfVarSecInfo(counter, 0, 4), new BtfVarSecInfo(total, 8, 8));
        var bytes = new byte[16];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, 7);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 1000);

        var record = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(b.BuildSpec(), sec, bytes));
        Assert.Equal("section .data", record.TypeName);
        Assert.Equal(7, record["counter"]);
        Assert.Equal(1000UL, record["total"]);
    }

    [Fact]
    public void UnionShowsEveryMemberAsAViewOfTheSameBytes()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint u8 = b.AddInt("unsigned char", 1);
        uint union = b.AddUnion("u", 4, new BtfMember("word", u32, 0, 0), new BtfMember("low", u8, 0, 0));
        var record = Assert.IsType<BtfRecord>(BtfValueCodec.Decode(b.BuildSpec(), union, [0x78, 0x56, 0x34, 0x12]));
        Assert.True(record.IsUnion);
        Assert.Equal(0x12345678u, record["word"]);
        Assert.Equal((byte)0x78, record["low"]);
    }

    [Fact]
    public void RecordsCompareByValueAndPrintLikeC()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint ch = b.AddInt("char", 1, BtfIntEncoding.Signed);
        uint comm = b.AddArray(ch, u32, 4);
        uint s = b.AddStruct("task", 8, new BtfMember("pid", u32, 0, 0), new BtfMember("comm", comm, 32, 0));
        var spec = b.BuildSpec();
        var bytes = new byte[] { 42, 0, 0, 0, (byte)'s', (byte)'h', 0, 0 };
        var first = BtfValueCodec.Decode(spec, s, bytes);
        var second = BtfValueCodec.Decode(spec, s, bytes.ToArray());
        Assert.Equal(first, second);
        Assert.Equal(first!.GetHashCode(), second!.GetHashCode());
        Assert.NotEqual(first, BtfValueCodec.Decode(spec, s, new byte[8]));
        Assert.Equal("{ pid = 42, comm = sh }", first.ToString());
    }

    [Fact]
    public void RecordIsAReadOnlyNonGenericDictionary()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("pair", 8, new BtfMember("a", u32, 0, 0), new BtfMember("b", u32, 32, 0));
        var dictionary = Assert.IsAssignableFrom<System.Collections.IDictionary>(BtfValueCodec.Decode(b.BuildSpec(), s, [1, 0, 0, 0, 2, 0, 0, 0]));

        Assert.Equal(2u, dictionary["b"]);
        Assert.Null(dictionary["c"]);
        Assert.True(dictionary.IsReadOnly);
        Assert.Equal(["a", "b"], dictionary.Keys.Cast<string>());
        Assert.Equal([new System.Collections.DictionaryEntry("a", 1u), new System.Collections.DictionaryEntry("b", 2u)],
            dictionary.Cast<System.Collections.DictionaryEntry>());
        Assert.Throws<NotSupportedException>(() => dictionary["a"] = 5u);
        Assert.Throws<NotSupportedException>(() => dictionary.Remove("a"));
    }

    [Fact]
    public void WrongLengthIsAnArgumentError()
    {
        var b = new BtfBuilder();
        uint id = b.AddInt("int", 4, BtfIntEncoding.Signed);
        Assert.Throws<ArgumentException>(() => BtfValueCodec.Decode(b.BuildSpec(), id, new byte[3]));
    }
}
