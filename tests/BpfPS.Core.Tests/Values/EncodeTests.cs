using System.Buffers.Binary;
using System.Collections;
using BpfPS.Core.Btf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>Encoding caller values (hashtables, lists, numbers, strings) and refusing what does not fit, naming where.</summary>
public class EncodeTests
{
    /// <summary>struct event { u32 pid; char comm[16]; u8 level:3; enum mode mode; u16 ports[2]; }</summary>
    private sealed class EventType
    {
        public readonly BtfSpec Spec;
        public readonly uint Id;

        public EventType()
        {
            var b = new BtfBuilder();
            uint u32 = b.AddInt("unsigned int", 4);
            uint u16 = b.AddInt("unsigned short", 2);
            uint u8 = b.AddInt("unsigned char", 1);
            uint ch = b.AddInt("char", 1, BtfIntEncoding.Signed);
            uint comm = b.AddArray(ch, u32, 16);
            uint ports = b.AddArray(u16, u32, 2);
            uint mode = b.AddEnum("mode", 4, false, new BtfEnumValue("OFF", 0), new BtfEnumValue("ON", 1), new BtfEnumValue("AUTO", 7));
            Id = b.AddStruct("event", 32,
                new BtfMember("pid", u32, 0, 0),
                new BtfMember("comm", comm, 32, 0),
                new BtfMember("level", u8, 160, 3),
                new BtfMember("mode", mode, 192, 0),
                new BtfMember("ports", ports, 224, 0));
            Spec = b.BuildSpec();
        }

        public byte[] Encode(object? value) => BtfValueCodec.Encode(Spec, Id, value);
    }

    private static readonly EventType Event = new();

    [Fact]
    public void HashtableFillsNamedMembersAndLeavesTheRestZero()
    {
        var bytes = Event.Encode(new Hashtable { ["pid"] = 42, ["comm"] = "bash", ["level"] = 5, ["mode"] = "AUTO", ["ports"] = new[] { 80, 443 } });
        var expected = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(expected, 42);
        "bash"u8.CopyTo(expected.AsSpan(4));
        expected[20] = 5;
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(24), 7);
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(28), 80);
        BinaryPrimitives.WriteUInt16LittleEndian(expected.AsSpan(30), 443);
        Assert.Equal(expected, bytes);

        Assert.Equal(new byte[32], Event.Encode(new Hashtable()));
    }

    [Fact]
    public void MemberNamesMatchInAnyCaseAndNumbersMayBeStrings()
    {
        var bytes = Event.Encode(new Dictionary<string, object?> { ["PID"] = "0x10", ["Mode"] = "on" });
        Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)));
    }

    [Fact]
    public void StringThatDoesNotFitNamesThePath()
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["comm"] = new string('x', 20) }));
        Assert.Equal("value.comm: string of 20 bytes does not fit char[16]", error.Message);
    }

    [Fact]
    public void SixteenByteStringFitsWithoutItsNul()
    {
        var bytes = Event.Encode(new Hashtable { ["comm"] = "0123456789abcdef" });
        Assert.Equal("0123456789abcdef"u8.ToArray(), bytes.AsSpan(4, 16).ToArray());
    }

    [Fact]
    public void UnknownMemberIsRefusedListingTheKnownOnes()
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["pidd"] = 1 }));
        Assert.Equal("value.pidd", error.Path);
        Assert.Contains("struct event has no member 'pidd'", error.Message);
        Assert.Contains("pid, comm, level, mode, ports", error.Message);
    }

    [Theory]
    [InlineData("pid", -1L, "-1 is out of range for unsigned int (0..4294967295)")]
    [InlineData("pid", 4294967296L, "4294967296 is out of range for unsigned int (0..4294967295)")]
    [InlineData("level", 8L, "8 is out of range for 3-bit bitfield of unsigned char (0..7)")]
    public void NumbersOutOfRangeAreRefused(string member, long number, string reason)
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { [member] = number }));
        Assert.Equal($"value.{member}: {reason}", error.Message);
    }

    [Fact]
    public void FractionsAndTextAreNotIntegers()
    {
        Assert.Contains("takes an integer", Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["pid"] = 1.5 })).Message);
        Assert.Contains("takes an integer", Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["pid"] = "many" })).Message);
    }

    [Fact]
    public void WrongElementCountIsRefused()
    {
        var tooFew = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["ports"] = new[] { 80 } }));
        Assert.Equal("value.ports: 1 elements given, unsigned short[2] takes exactly 2", tooFew.Message);
        var tooMany = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["ports"] = Enumerable.Range(1, int.MaxValue) }));
        Assert.Contains("more than 2 elements", tooMany.Message);
    }

    [Fact]
    public void ElementErrorsNameTheIndex()
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["ports"] = new object[] { 80, 70000 } }));
        Assert.Equal("value.ports[1]", error.Path);
    }

    [Fact]
    public void UnknownEnumeratorIsRefused()
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(new Hashtable { ["mode"] = "SOMETIMES" }));
        Assert.Equal("value.mode: enum mode has no enumerator 'SOMETIMES'; it has OFF, ON, AUTO", error.Message);
    }

    [Fact]
    public void StructNeedsADictionary()
    {
        var error = Assert.Throws<BtfValueException>(() => Event.Encode(5));
        Assert.Equal("value", error.Path);
        Assert.Contains("struct event takes a hashtable of its members", error.Message);
    }

    [Fact]
    public void ByteArrayOfTheExactSizeIsTakenAsIs()
    {
        var raw = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        Assert.Equal(raw, Event.Encode(raw));
        Assert.Contains("31 bytes given", Assert.Throws<BtfValueException>(() => Event.Encode(new byte[31])).Message);
    }

    [Fact]
    public void AdapterUnwrapsEveryLevel()
    {
        // Stands in for PowerShell's PSObject: the core cannot see through it, the adapter can.
        var wrapped = new Wrapper(new Hashtable { ["pid"] = new Wrapper(7), ["ports"] = new Wrapper(new object[] { new Wrapper(1), 2 }) });
        var bytes = BtfValueCodec.Encode(Event.Spec, Event.Id, wrapped, adapter: o => o is Wrapper w ? w.Inner : o);
        Assert.Equal(7u, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal((ushort)1, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(28)));
        Assert.Equal((ushort)2, BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(30)));
    }

    private sealed record Wrapper(object Inner);

    [Fact]
    public void SignedAndBoolTargets()
    {
        var b = new BtfBuilder();
        uint s8 = b.AddInt("signed char", 1, BtfIntEncoding.Signed);
        uint flag = b.AddInt("_Bool", 1, BtfIntEncoding.Bool);
        var spec = b.BuildSpec();
        Assert.Equal(new byte[] { 0x80 }, BtfValueCodec.Encode(spec, s8, -128));
        Assert.Throws<BtfValueException>(() => BtfValueCodec.Encode(spec, s8, 128));
        Assert.Equal(new byte[] { 1 }, BtfValueCodec.Encode(spec, flag, true));
        Assert.Equal(new byte[] { 0 }, BtfValueCodec.Encode(spec, flag, 0));
        Assert.Throws<BtfValueException>(() => BtfValueCodec.Encode(spec, flag, 2));
    }

    [Fact]
    public void UnionTakesTheMemberGiven()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint u8 = b.AddInt("unsigned char", 1);
        uint bytes4 = b.AddArray(u8, u32, 4);
        uint union = b.AddUnion("u", 4, new BtfMember("word", u32, 0, 0), new BtfMember("raw", bytes4, 0, 0));
        var spec = b.BuildSpec();
        Assert.Equal(new byte[] { 0x78, 0x56, 0x34, 0x12 }, BtfValueCodec.Encode(spec, union, new Hashtable { ["word"] = 0x12345678 }));
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, BtfValueCodec.Encode(spec, union, new Hashtable { ["raw"] = new[] { 1, 2, 3, 4 } }));
    }
}
