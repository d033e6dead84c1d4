using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>Every malformed input gives one BpfFormatException naming the source, the part of the blob and what is wrong.</summary>
public class BtfSpecFormatErrorTests
{
    private static byte[] Good()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        b.Struct("s", 4, ("a", i32, 0, 0));
        return b.Build();
    }

    private static BpfFormatException ParseFails(byte[] blob, string reason)
    {
        var e = Assert.Throws<BpfFormatException>(() => BtfSpec.Parse(blob, "bad.btf"));
        Assert.Equal("bad.btf", e.File);
        Assert.Contains(reason, e.Reason);
        return e;
    }

    [Fact]
    public void BadMagicIsNamed()
    {
        var blob = Good();
        blob[0] = 0x34;
        blob[1] = 0x12;
        var e = ParseFails(blob, "bad magic 0x1234");
        Assert.Equal("BTF header", e.Section);
        Assert.Equal(0, e.Offset);
    }

    [Fact]
    public void BigEndianIsRefused()
    {
        var blob = Good();
        (blob[0], blob[1]) = (blob[1], blob[0]);
        ParseFails(blob, "big-endian");
    }

    [Fact]
    public void UnsupportedVersionAndFlags()
    {
        var blob = Good();
        blob[2] = 2;
        ParseFails(blob, "unsupported version 2");
        blob = Good();
        blob[3] = 1;
        ParseFails(blob, "unsupported flags");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(8)]
    [InlineData(23)]
    public void TruncatedHeader(int length) => ParseFails(Good()[..length], "truncated header");

    [Fact]
    public void HeaderLengthOutOfRange()
    {
        ParseFails(BtfBlob.Patch(Good(), 4, 12), "header length 12");
        ParseFails(BtfBlob.Patch(Good(), 4, 100_000), "header length 100000");
    }

    [Fact]
    public void LongerHeaderMustBeZeroPadded()
    {
        // A 28-byte header whose extra word is not zero is a format this reader does not know.
        var good = Good();
        var longer = new byte[good.Length + 4];
        good.AsSpan(0, 24).CopyTo(longer);
        good.AsSpan(24).CopyTo(longer.AsSpan(28));
        longer = BtfBlob.Patch(longer, 4, 28);
        Assert.Equal(2, BtfSpec.Parse(longer, "ok").TypeCount);
        ParseFails(BtfBlob.Patch(longer, 24, 7), "unknown non-zero");
    }

    [Fact]
    public void SectionsOutOfRange()
    {
        var blob = Good();
        ParseFails(BtfBlob.Patch(blob, 12, 1_000_000), "type section");
        ParseFails(BtfBlob.Patch(blob, 20, 1_000_000), "string section");
        ParseFails(BtfBlob.Patch(blob, 16, 0xffff_fff0), "string section");
        // Offsets that wrap 32 bits are still caught (the sums are 64-bit).
        ParseFails(BtfBlob.Patch(BtfBlob.Patch(blob, 8, 0xffff_fff0), 12, 0x20), "type section");
    }

    [Fact]
    public void UnalignedOrOverlappingSections()
    {
        var blob = Good();
        ParseFails(BtfBlob.Patch(blob, 8, 2), "not 4-byte aligned");
        ParseFails(BtfBlob.Patch(blob, 16, 4), "overlap");
    }

    [Fact]
    public void StringSectionMustStartEmptyAndEndWithNul()
    {
        var blob = Good();
        blob[^1] = (byte)'x';
        ParseFails(blob, "not NUL-terminated");
        blob = Good();
        int strings = 24 + (int)BitConverter.ToUInt32(blob, 16);
        blob[strings] = (byte)'x';
        ParseFails(blob, "must start with the empty string");
        ParseFails(BtfBlob.Patch(Good(), 20, 0), "must start with the empty string");
    }

    [Fact]
    public void TruncatedTypeHeader()
    {
        // The type section ends 8 bytes into a type.
        var b = new BtfBlob();
        b.Int("int", 4);
        b.U32(0).U32(0x0200_0000);
        var e = ParseFails(b.Build(), "type [2] is truncated");
        Assert.Equal("BTF type section", e.Section);
        Assert.Equal(16, e.Offset);
    }

    [Fact]
    public void AbsurdVlen()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        b.Type(b.Str("huge"), BtfKind.Struct, 0xffff, false, 4);
        b.U32(0).U32(i32).U32(0);
        var e = ParseFails(b.Build(), "vlen 65535");
        Assert.Equal(16, e.Offset);
    }

    [Fact]
    public void UnknownKind()
    {
        var b = new BtfBlob();
        b.Type(0, (BtfKind)25, 0, false, 0);
        ParseFails(b.Build(), "unknown kind 25");
        var z = new BtfBlob();
        z.Type(0, BtfKind.Void, 0, false, 0);
        ParseFails(z.Build(), "unknown kind 0");
    }

    [Fact]
    public void TypeIdPastEndIsFoundAtDecode()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        uint ptr = b.Ptr(99);
        uint st = b.Struct("s", 4, ("a", 77, 0, 0));
        uint arr = b.Array(i32, 55, 1);
        uint proto = b.FuncProto(i32, ("p", 66));
        uint ds = b.Datasec(".data", 4, (44, 0, 4));
        var spec = b.Parse("lazy.btf");
        // Parse is lazy about references: only decoding reports them.
        Assert.Equal(6, spec.TypeCount);
        foreach (var (id, bad) in new[] { (ptr, 99u), (st, 77u), (arr, 55u), (proto, 66u), (ds, 44u) })
        {
            var e = Assert.Throws<BpfFormatException>(() => spec.GetType(id));
            Assert.Contains($"type [{id}] refers to type {bad}", e.Reason);
            Assert.Equal("lazy.btf", e.File);
        }
        Assert.Throws<BpfFormatException>(() => spec.SizeOf(ptr + 100));
        Assert.Contains("past the last type 6", Assert.Throws<BpfFormatException>(() => spec.GetType(7)).Reason);
        Assert.Throws<BpfFormatException>(() => spec.GetKind(7));
        Assert.Throws<BpfFormatException>(() => spec.GetName(7));
        Assert.Equal(0, spec.DecodedTypeCount);
    }

    [Fact]
    public void StringOffsetPastEnd()
    {
        var b = new BtfBlob();
        b.Type(5000, BtfKind.Struct, 0, false, 0);
        uint i32 = b.Int("int", 4);
        b.Type(b.Str("s"), BtfKind.Struct, 1, false, 4);
        b.U32(6000).U32(i32).U32(0);
        var spec = b.Parse();
        Assert.Contains("string offset 5000", Assert.Throws<BpfFormatException>(() => spec.GetName(1)).Reason);
        Assert.Contains("string offset 5000", Assert.Throws<BpfFormatException>(() => spec.GetType(1)).Reason);
        Assert.Contains("string offset 6000", Assert.Throws<BpfFormatException>(() => spec.GetType(3)).Reason);
        Assert.Throws<BpfFormatException>(() => spec.GetString(5000));
        Assert.Throws<BpfFormatException>(() => spec.FindByName("s"));
        Assert.Equal("int", spec.GetName(i32));
    }

    [Fact]
    public void CyclicTypedefsInSizeOf()
    {
        var b = new BtfBlob();
        b.Typedef("a", 2);
        b.Typedef("b", 1);
        uint self = b.Const(3);
        var spec = b.Parse();
        Assert.Contains("a cycle", Assert.Throws<BpfFormatException>(() => spec.SizeOf(1)).Reason);
        Assert.Contains("a cycle", Assert.Throws<BpfFormatException>(() => spec.SizeOf(self)).Reason);
        Assert.Contains("a cycle", Assert.Throws<BpfFormatException>(() => spec.SkipModsAndTypedefs(1)).Reason);
        // The types themselves decode: a cycle is only an error for questions that follow it.
        Assert.Equal(2u, ((BtfReference)spec.GetType(1)).TypeId);
    }

    [Fact]
    public void ChainsOfAllowedDepthResolve()
    {
        var b = new BtfBlob();
        uint id = b.Int("int", 4);
        for (int i = 0; i < 31; i++)
            id = b.Typedef($"t{i}", id);
        var spec = b.Parse();
        Assert.Equal(4u, spec.SizeOf(id));
        Assert.Equal(1u, spec.SkipModsAndTypedefs(id));
    }

    [Fact]
    public void SizeOfTypesWithoutSize()
    {
        var b = new BtfBlob();
        uint fwd = b.Fwd("later");
        uint proto = b.FuncProto(0);
        uint fn = b.Func("f", proto);
        uint toVoid = b.Typedef("nothing", 0);
        uint arr = b.Array(b.Int("int", 4), 0, 0x4000_0000);
        uint big = b.Array(arr, 0, 16);
        var spec = b.Parse();
        Assert.Contains("no size", Assert.Throws<BpfFormatException>(() => spec.SizeOf(fwd)).Reason);
        Assert.Contains("no size", Assert.Throws<BpfFormatException>(() => spec.SizeOf(fn)).Reason);
        Assert.Contains("no size", Assert.Throws<BpfFormatException>(() => spec.SizeOf(proto)).Reason);
        Assert.Contains("void", Assert.Throws<BpfFormatException>(() => spec.SizeOf(toVoid)).Reason);
        Assert.Contains("overflows", Assert.Throws<BpfFormatException>(() => spec.SizeOf(arr)).Reason);
        Assert.Contains("overflows", Assert.Throws<BpfFormatException>(() => spec.SizeOf(big)).Reason);
    }

    [Theory]
    [InlineData(17u, 0x00u, 24u, "int size 17")]
    [InlineData(0u, 0x00u, 8u, "int size 0")]
    [InlineData(4u, 0x00u, 33u, "33 bits")]
    [InlineData(16u, 0x00u, 129u, "129 bits")]
    [InlineData(4u, 0x03u, 32u, "encoding 0x3")]
    [InlineData(4u, 0x10u, 32u, "bits outside")]
    public void MalformedInts(uint size, uint encoding, uint bits, string reason)
    {
        var b = new BtfBlob();
        b.Type(b.Str("bad"), BtfKind.Int, 0, false, size);
        b.U32((encoding << 24) | bits);
        var spec = b.Parse();
        var e = Assert.Throws<BpfFormatException>(() => spec.GetType(1));
        Assert.Contains(reason, e.Reason);
        Assert.Equal(0, spec.DecodedTypeCount);
    }

    [Fact]
    public void OddIntsTheKernelAcceptsDecode()
    {
        var b = new BtfBlob();
        uint three = b.Int("u24", 3, bits: 24);
        uint offset = b.Int("bits", 4, bits: 5, bitOffset: 3);
        var spec = b.Parse();
        Assert.Equal(3u, Assert.IsType<BtfInt>(spec.GetType(three)).ByteSize);
        var o = Assert.IsType<BtfInt>(spec.GetType(offset));
        Assert.Equal(((byte)3, (byte)5), (o.BitOffset, o.Bits));
    }

    [Fact]
    public void MalformedLinkageEnumSizeAndComponent()
    {
        var b = new BtfBlob();
        uint proto = b.FuncProto(0);
        uint fn = b.Type(b.Str("f"), BtfKind.Func, 3, false, proto);
        uint v = b.Type(b.Str("v"), BtfKind.Var, 0, false, 0);
        b.U32(9);
        uint en = b.Type(b.Str("e"), BtfKind.Enum, 0, false, 3);
        uint tag = b.Type(b.Str("t"), BtfKind.DeclTag, 0, false, fn);
        b.U32(unchecked((uint)-2));
        var spec = b.Parse();
        Assert.Contains("func linkage 3", Assert.Throws<BpfFormatException>(() => spec.GetType(fn)).Reason);
        Assert.Contains("var linkage 9", Assert.Throws<BpfFormatException>(() => spec.GetType(v)).Reason);
        Assert.Contains("enum size 3", Assert.Throws<BpfFormatException>(() => spec.GetType(en)).Reason);
        Assert.Contains("component index -2", Assert.Throws<BpfFormatException>(() => spec.GetType(tag)).Reason);
    }

    [Fact]
    public void EmptyTypeSectionIsValid()
    {
        var spec = new BtfBlob().Parse();
        Assert.Equal(0, spec.TypeCount);
        Assert.Equal(1u, spec.NextTypeId);
        Assert.Empty(spec.Types);
        Assert.Empty(spec.FindByName("x"));
    }
}
