using System.Buffers.Binary;
using BpfPS.Core.Btf;
using BpfPS.Core.Events;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>Generated record classes over hand-built BTF: member types, values, short records, round trips.</summary>
public class RecordTypesTests
{
    /// <summary>
    /// struct sample { int i; unsigned long long u; _Bool b; char name[8]; unsigned char raw[4]; unsigned int list[3];
    /// enum color c; void *p; double d; struct point at; struct point path[2]; union { unsigned int word; unsigned short half; };
    /// } (offsets in the byte writer below).
    /// </summary>
    private static (BtfSpec Spec, uint Sample, uint Point) Sample()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint u64 = b.AddInt("unsigned long long", 8);
        uint u32 = b.AddInt("unsigned int", 4);
        uint u16 = b.AddInt("unsigned short", 2);
        uint u8 = b.AddInt("unsigned char", 1);
        uint boolean = b.AddInt("_Bool", 1, BtfIntEncoding.Bool);
        uint ch = b.AddInt("char", 1, BtfIntEncoding.Signed);
        uint dbl = b.AddFloat("double", 8);
        uint color = b.AddEnum("color", 4, false, new BtfEnumValue("RED", 0), new BtfEnumValue("GREEN", 1));
        uint ptr = b.AddPointer(0);
        uint point = b.AddStruct("point", 8, new BtfMember("x", i32, 0, 0), new BtfMember("y", i32, 32, 0));
        uint name = b.AddArray(ch, u32, 8);
        uint raw = b.AddArray(u8, u32, 4);
        uint list = b.AddArray(u32, u32, 3);
        uint path = b.AddArray(point, u32, 2);
        uint word = b.AddUnion("", 4, new BtfMember("word", u32, 0, 0), new BtfMember("half", u16, 0, 0));
        uint sample = b.AddStruct("sample", 92,
            new BtfMember("i", i32, 0, 0),
            new BtfMember("u", u64, 64, 0),
            new BtfMember("b", boolean, 128, 0),
            new BtfMember("name", name, 136, 0),
            new BtfMember("raw", raw, 200, 0),
            new BtfMember("list", list, 256, 0),
            new BtfMember("c", color, 352, 0),
            new BtfMember("p", ptr, 384, 0),
            new BtfMember("d", dbl, 448, 0),
            new BtfMember("at", point, 512, 0),
            new BtfMember("path", path, 576, 0),
            new BtfMember("", word, 704, 0));
        return (b.BuildSpec(), sample, point);
    }

    private static byte[] SampleBytes()
    {
        var bytes = new byte[92];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, -7);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), 1UL << 40);
        bytes[16] = 1;
        "bash"u8.CopyTo(bytes.AsSpan(17));
        bytes.AsSpan(25, 4).Fill(0xab);
        for (int i = 0; i < 3; i++) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32 + 4 * i), (uint)(10 + i));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(44), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(48), 0xffff_0000_1234);
        BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(56), 2.5);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(64), 3);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(68), 4);
        for (int i = 0; i < 4; i++) BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(72 + 4 * i), 100 + i);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(88), 0x0005_0006);
        return bytes;
    }

    private static object? Property(object record, string name) => record.GetType().GetProperty(name)!.GetValue(record);

    [Fact]
    public void MembersBecomeTypedPropertiesInDeclarationOrder()
    {
        var (spec, sample, _) = Sample();
        var type = RecordTypes.For(spec, sample);
        Assert.NotNull(type);
        Assert.Equal("BpfPS.Records.sample", type.Type.FullName);
        Assert.True(type.Type.Assembly.IsCollectible);
        var properties = type.Type.GetProperties();
        Assert.Equal(["i", "u", "b", "name", "raw", "list", "c", "p", "d", "at", "path", "word", "half"], properties.Select(p => p.Name));
        Assert.All(properties, p => Assert.True(p.CanRead && p.CanWrite));
        Assert.Equal(typeof(int?), properties[0].PropertyType);
        Assert.Equal(typeof(ulong?), properties[1].PropertyType);
        Assert.Equal(typeof(bool?), properties[2].PropertyType);
        Assert.Equal(typeof(string), properties[3].PropertyType);
        Assert.Equal(typeof(byte[]), properties[4].PropertyType);
        Assert.Equal(typeof(uint[]), properties[5].PropertyType);
        Assert.Equal(typeof(object), properties[6].PropertyType);
        Assert.Equal(typeof(ulong?), properties[7].PropertyType);
        Assert.Equal(typeof(double?), properties[8].PropertyType);
        Assert.Equal("BpfPS.Records.point", properties[9].PropertyType.FullName);
        Assert.Equal(properties[9].PropertyType.MakeArrayType(), properties[10].PropertyType);
        Assert.Equal(typeof(uint?), properties[11].PropertyType);
        Assert.Equal(typeof(ushort?), properties[12].PropertyType);
    }

    [Fact]
    public void InstancesHoldTheDecodedValuesAndPrintLikeTheRecord()
    {
        var (spec, sample, _) = Sample();
        var type = RecordTypes.For(spec, sample)!;
        var record = (BtfRecord)BtfValueCodec.Decode(spec, sample, SampleBytes())!;
        var value = type.Create(record);

        Assert.IsType(type.Type, value);
        Assert.Equal(-7, Property(value, "i"));
        Assert.Equal(1UL << 40, Property(value, "u"));
        Assert.Equal(true, Property(value, "b"));
        Assert.Equal("bash", Property(value, "name"));
        Assert.Equal(new byte[] { 0xab, 0xab, 0xab, 0xab }, Property(value, "raw"));
        Assert.Equal(new uint[] { 10, 11, 12 }, Property(value, "list"));
        Assert.Equal("GREEN", Property(value, "c"));
        Assert.Equal(0xffff_0000_1234UL, Property(value, "p"));
        Assert.Equal(2.5, Property(value, "d"));
        var at = Property(value, "at")!;
        Assert.Equal(3, Property(at, "x"));
        Assert.Equal(4, Property(at, "y"));
        var path = (Array)Property(value, "path")!;
        Assert.Equal(101, Property(path.GetValue(0)!, "y"));
        Assert.Equal(102, Property(path.GetValue(1)!, "x"));
        Assert.Equal(record.ToString(), value.ToString());
    }

    [Fact]
    public void PropertiesCanBeSet()
    {
        var (spec, sample, _) = Sample();
        var type = RecordTypes.For(spec, sample)!;
        var value = type.Create((BtfRecord)BtfValueCodec.Decode(spec, sample, SampleBytes())!);
        type.Type.GetProperty("i")!.SetValue(value, 5);
        type.Type.GetProperty("name")!.SetValue(value, "zsh");
        Assert.Equal(5, Property(value, "i"));
        Assert.StartsWith("{ i = 5, u = 1099511627776, b = True, name = zsh, ", value.ToString());
    }

    [Fact]
    public void TheDictionaryOfAnInstanceEncodesToTheSameBytes()
    {
        var (spec, sample, _) = Sample();
        var bytes = SampleBytes();
        var value = RecordTypes.For(spec, sample)!.Create((BtfRecord)BtfValueCodec.Decode(spec, sample, bytes)!);
        // The encoder meets nested instances as it descends: the adapter turns them into dictionaries too.
        var encoded = BtfValueCodec.Encode(spec, sample, RecordTypes.ToDictionary(value), "value",
            part => part is RecordObject nested ? RecordTypes.ToDictionary(nested) : part);
        // The union's two views write the same bytes; the rest is the input.
        Assert.Equal(bytes, encoded);
    }

    [Fact]
    public void OneClassPerTypeOfTheSameBtf()
    {
        var (spec, sample, point) = Sample();
        var first = RecordTypes.For(spec, sample)!;
        Assert.Same(first, RecordTypes.For(spec, sample));
        Assert.Same(first.Type.GetProperty("at")!.PropertyType, RecordTypes.For(spec, point)!.Type);
        // The same object loaded again is a new spec with the same bytes: its records reuse the classes (a class, once
        // a shell has seen it, is never unloaded, so a class per load would grow the process with every load).
        var (again, againSample, _) = Sample();
        Assert.Same(first.Type, RecordTypes.For(again, againSample)!.Type);
    }

    [Fact]
    public void OtherBtfGetsItsOwnClass()
    {
        static BtfSpec Point(bool withY)
        {
            var b = new BtfBuilder();
            uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
            var members = withY
                ? new[] { new BtfMember("x", i32, 0, 0), new BtfMember("y", i32, 32, 0) }
                : new[] { new BtfMember("x", i32, 0, 0) };
            b.AddStruct("point", withY ? 8u : 4u, members);
            return b.BuildSpec();
        }
        var narrow = RecordTypes.For(Point(false), EventDecoder.FindType(Point(false), "point"))!;
        var wide = RecordTypes.For(Point(true), EventDecoder.FindType(Point(true), "point"))!;
        Assert.NotSame(narrow.Type, wide.Type);
        Assert.Equal(["x"], narrow.Names.ToArray());
        Assert.Equal(["x", "y"], wide.Names.ToArray());
    }

    [Fact]
    public void ShortRecordsLeaveMissingMembersNullAndCutArrays()
    {
        var (spec, sample, _) = Sample();
        var decoder = new EventDecoder(spec, sample);
        var type = RecordTypes.For(spec, sample)!;
        // 40 bytes: i, u, b, name, raw, and two of the three list elements.
        var value = type.Create((BtfRecord)decoder.Decode(SampleBytes().AsSpan(0, 40))!);
        Assert.Equal(-7, Property(value, "i"));
        Assert.Equal("bash", Property(value, "name"));
        Assert.Equal(new uint[] { 10, 11 }, Property(value, "list"));
        Assert.Null(Property(value, "c"));
        Assert.Null(Property(value, "d"));
        Assert.Null(Property(value, "at"));
        Assert.Null(Property(value, "path"));
    }

    [Fact]
    public void ReadingStraightFromBytesGivesWhatConvertingTheDecodedRecordGives()
    {
        var (spec, sample, _) = Sample();
        var type = RecordTypes.For(spec, sample)!;
        Assert.True(type.CanRead);
        var decoder = new EventDecoder(spec, sample);
        var bytes = SampleBytes();
        // Every length: a whole record, and short ones ending inside, between and at the start of members.
        for (int length = 0; length <= bytes.Length; length++)
        {
            var record = bytes.AsSpan(0, length);
            var read = type.Read(record);
            var converted = type.Create((BtfRecord)decoder.Decode(record)!);
            Assert.Equal(converted.ToString(), read.ToString());
            Assert.Equal(converted.ToString(), decoder.Decode(record, type).ToString());
        }
        Assert.Throws<ArgumentException>(() => type.Read(new byte[bytes.Length + 1]));
    }

    [Fact]
    public void BitfieldsAreConvertedFromTheDecodedRecord()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("flags", 8, new BtfMember("lo", u32, 0, 4), new BtfMember("n", u32, 32, 0));
        var spec = b.BuildSpec();
        var type = RecordTypes.For(spec, s)!;
        Assert.False(type.CanRead);
        var value = new EventDecoder(spec, s).Decode([0x13, 0, 0, 0, 7, 0, 0, 0], type);
        Assert.Equal("{ lo = 3, n = 7 }", value!.ToString());
        Assert.IsType(type.Type, value);
    }

    [Fact]
    public void TimeMembersBecomeDateTimes()
    {
        var (spec, sample, _) = Sample();
        var type = RecordTypes.For(spec, sample, ["U", "name"])!;   // name is no u64: it stays text
        Assert.Equal(typeof(DateTime?), type.Type.GetProperty("u")!.PropertyType);
        Assert.Equal(typeof(string), type.Type.GetProperty("name")!.PropertyType);
        Assert.NotSame(type, RecordTypes.For(spec, sample));
        var stamp = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Local);
        var value = type.Create((BtfRecord)BtfValueCodec.Decode(spec, sample, SampleBytes())!, ns => ns == 1UL << 40 ? stamp : default);
        Assert.Equal(stamp, Property(value, "u"));
        Assert.Equal(stamp, Property(type.Read(SampleBytes(), ns => ns == 1UL << 40 ? stamp : default), "u"));
        Assert.Null(Property(type.Read(SampleBytes().AsSpan(0, 8), _ => stamp), "u"));
    }

    [Fact]
    public void NamesDifferingOnlyInCaseKeepTheRecord()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint clash = b.AddStruct("clash", 8, new BtfMember("pid", u32, 0, 0), new BtfMember("PID", u32, 32, 0));
        uint outer = b.AddStruct("outer", 12, new BtfMember("n", u32, 0, 0), new BtfMember("inner", clash, 32, 0));
        var spec = b.BuildSpec();
        Assert.Null(RecordTypes.For(spec, clash));
        var type = RecordTypes.For(spec, outer)!;
        Assert.Equal(typeof(object), type.Type.GetProperty("inner")!.PropertyType);
        var value = type.Create((BtfRecord)BtfValueCodec.Decode(spec, outer, new byte[12])!);
        Assert.IsType<BtfRecord>(Property(value, "inner"));
    }

    [Fact]
    public void TypedefsAnonymousMembersAndBitfields()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint anon = b.AddStruct("", 4, new BtfMember("a", u32, 0, 0));
        uint s = b.AddStruct("", 12, new BtfMember("lo", u32, 0, 4), new BtfMember("hi", s32, 4, 4),
            new BtfMember("inner", anon, 32, 0), new BtfMember("", anon, 64, 0));
        uint alias = b.AddTypedef("flags_t", s);
        var spec = b.BuildSpec();
        var type = RecordTypes.For(spec, alias)!;
        Assert.Equal("BpfPS.Records.flags_t", type.Type.FullName);
        Assert.Equal(["lo", "hi", "inner", "a"], type.Type.GetProperties().Select(p => p.Name));
        Assert.Equal("BpfPS.Records.flags_t_inner", type.Type.GetProperty("inner")!.PropertyType.FullName);
        var value = type.Create((BtfRecord)BtfValueCodec.Decode(spec, alias, [0xf5, 0, 0, 0, 9, 0, 0, 0, 8, 0, 0, 0])!);
        Assert.Equal(5u, Property(value, "lo"));
        Assert.Equal(-1, Property(value, "hi"));
        Assert.Equal(9u, Property(Property(value, "inner")!, "a"));
        Assert.Equal(8u, Property(value, "a"));
    }

    [Fact]
    public void NamesThatAreNoIdentifiersStillMakeAClass()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s = b.AddStruct("we.ird[1], x", 4, new BtfMember("a b", u32, 0, 0));
        var spec = b.BuildSpec();
        var type = RecordTypes.For(spec, s)!;
        Assert.Equal("BpfPS.Records.we_ird_1___x", type.Type.FullName);
        Assert.Equal(7u, Property(type.Read([7, 0, 0, 0]), "a b"));
    }

    [Fact]
    public void OtherKindsHaveNoClass()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint arr = b.AddArray(u32, u32, 2);
        var spec = b.BuildSpec();
        Assert.Null(RecordTypes.For(spec, u32));
        Assert.Null(RecordTypes.For(spec, arr));
    }
}
