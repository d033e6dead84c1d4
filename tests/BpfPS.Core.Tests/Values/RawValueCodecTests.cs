using BpfPS.Core.Btf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

public class RawValueCodecTests
{
    [Fact]
    public void WithoutBtfBytesStayBytes()
    {
        var codec = ValueCodec.Create(null, 0, 4);
        Assert.IsType<RawValueCodec>(codec);
        Assert.Equal("byte[4]", codec.TypeName);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, codec.Decode([1, 2, 3, 4]));
    }

    [Fact]
    public void NumbersAreWrittenLittleEndianInEitherSignedness()
    {
        var codec = new RawValueCodec(4);
        Assert.Equal(new byte[] { 0x78, 0x56, 0x34, 0x12 }, codec.Encode(0x12345678));
        Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff }, codec.Encode(-1));
        Assert.Equal(new byte[] { 0xff, 0xff, 0xff, 0xff }, codec.Encode(uint.MaxValue));
        Assert.Throws<BtfValueException>(() => codec.Encode(0x1_0000_0000L));
        Assert.Throws<BtfValueException>(() => new RawValueCodec(6).Encode(1));
    }

    [Fact]
    public void ByteListsMustHaveTheExactLength()
    {
        var codec = new RawValueCodec(3);
        Assert.Equal(new byte[] { 1, 2, 3 }, codec.Encode(new object[] { 1, 2, 3 }));
        Assert.Contains("2 elements given", Assert.Throws<BtfValueException>(() => codec.Encode(new[] { 1, 2 })).Message);
        Assert.Equal("key[1]", Assert.Throws<BtfValueException>(() => codec.Encode(new[] { 1, 256, 3 }, "key")).Path);
        Assert.Throws<BtfValueException>(() => codec.Encode(new byte[4]));
    }

    [Fact]
    public void BtfIsUsedOnlyWhenItsSizeMatches()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        var spec = b.BuildSpec();
        Assert.IsType<BtfValueCodec>(ValueCodec.Create(spec, u32, 4));
        Assert.IsType<RawValueCodec>(ValueCodec.Create(spec, u32, 8));
        Assert.IsType<RawValueCodec>(ValueCodec.Create(spec, 0, 4));
        Assert.IsType<RawValueCodec>(ValueCodec.Create(spec, 99, 4));   // no such type
    }

    [Fact]
    public void TypesBtfCannotSizeFallBackToBytes()
    {
        var b = new BtfBuilder();
        uint fwd = b.AddFwd("opaque");
        uint loop = b.NextTypeId;
        b.AddTypedef("loop", loop);
        var spec = b.BuildSpec();
        Assert.IsType<RawValueCodec>(ValueCodec.Create(spec, fwd, 4));
        Assert.IsType<RawValueCodec>(ValueCodec.Create(spec, loop, 4));
    }
}
