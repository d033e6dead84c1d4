using BpfPS.Core.Btf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>BTF that lies about layouts or loops back on itself gives BpfFormatException, never a crash or a huge allocation.</summary>
public class MalformedTypeTests
{
    [Fact]
    public void StructContainingItselfIsRefusedNotRecursedForever()
    {
        // struct loop { struct loop self; } with a size of 4: only a cycle check stops the decoder.
        var b = new BtfBuilder();
        uint loop = b.NextTypeId;
        b.AddStruct("loop", 4, new BtfMember("self", loop, 0, 0));
        var spec = b.BuildSpec();
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(spec, loop, new byte[4]));
        // Encoding follows the input, so only input nested deeper than the bound reaches it.
        var nested = new System.Collections.Hashtable();
        for (int i = 0; i < 100; i++)
            nested = new System.Collections.Hashtable { ["self"] = nested };
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Encode(spec, loop, nested));
    }

    [Fact]
    public void AnonymousMemberCycleIsRefused()
    {
        var b = new BtfBuilder();
        uint loop = b.NextTypeId;
        b.AddStruct("", 4, new BtfMember("", loop, 0, 0));
        var spec = b.BuildSpec();
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(spec, loop, new byte[4]));
    }

    [Fact]
    public void MemberOutsideItsStructIsRefused()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("short", 4, new BtfMember("a", u32, 0, 0), new BtfMember("b", u32, 32, 0));
        var error = Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(b.BuildSpec(), s, new byte[4]));
        Assert.Contains("'b'", error.Message);
        Assert.Equal("BtfBuilder", error.File);
    }

    [Fact]
    public void AnonymousMemberOutsideItsParentIsRefused()
    {
        // The inner struct's own members fit it, but it sits past the end of the outer struct (found by the damage test).
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint inner = b.AddStruct("", 4, new BtfMember("x", u32, 0, 0));
        uint outer = b.AddStruct("outer", 4, new BtfMember("", inner, 64, 0));
        var spec = b.BuildSpec();
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(spec, outer, new byte[4]));
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Encode(spec, outer, new System.Collections.Hashtable { ["x"] = 1 }));
    }

    [Fact]
    public void ManyZeroSizedElementsAreRefusedBeforeAllocating()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint empty = b.AddStruct("empty", 0);
        uint huge = b.AddArray(empty, u32, uint.MaxValue);
        uint holder = b.AddStruct("holder", 4, new BtfMember("x", u32, 0, 0), new BtfMember("many", huge, 32, 0));
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(b.BuildSpec(), holder, new byte[4]));
    }

    [Fact]
    public void BitfieldWiderThanItsTypeIsRefused()
    {
        var b = new BtfBuilder();
        uint u8 = b.AddInt("unsigned char", 1);
        uint s = b.AddStruct("s", 4, new BtfMember("wide", u8, 0, 12));
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(b.BuildSpec(), s, new byte[4]));
    }

    [Fact]
    public void IntOfAnImpossibleSizeIsRefused()
    {
        var b = new BtfBuilder();
        uint odd = b.AddInt("odd", 3);
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(b.BuildSpec(), odd, new byte[3]));
    }

    [Fact]
    public void TypesWithoutValuesHaveNoCodec()
    {
        var b = new BtfBuilder();
        uint fwd = b.AddFwd("opaque");
        Assert.Throws<BpfFormatException>(() => new BtfValueCodec(b.BuildSpec(), fwd));
    }

    [Fact]
    public void TypeLargerThanASpanIsRefused()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint huge = b.AddArray(u32, u32, 0x3000_0000);   // 3 GiB: fits BTF's 32-bit sizes, not a .NET span
        Assert.Throws<BpfFormatException>(() => new BtfValueCodec(b.BuildSpec(), huge));
    }

    [Fact]
    public void DuplicateMemberNamesAreRefused()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("s", 8, new BtfMember("a", u32, 0, 0), new BtfMember("a", u32, 32, 0));
        Assert.Throws<BpfFormatException>(() => BtfValueCodec.Decode(b.BuildSpec(), s, new byte[8]));
    }
}
