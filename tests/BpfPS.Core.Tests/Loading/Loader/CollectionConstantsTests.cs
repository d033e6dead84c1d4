using System.Buffers.Binary;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

public class CollectionConstantsTests
{
    // .rodata laid out as clang would for:
    //   const volatile __u32 knob = 7;          offset 0
    //   const volatile __s8 small = -1;         offset 4
    //   const volatile bool flag = false;       offset 5
    //   const volatile enum mode m = MODE_A;    offset 8
    //   const volatile char label[8] = "abc";   offset 12
    private static CollectionSpec Spec()
    {
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        uint s8 = b.AddInt("signed char", 1, BtfIntEncoding.Signed);
        uint boolean = b.AddInt("_Bool", 1, BtfIntEncoding.Bool);
        uint mode = b.AddEnum("mode", 4, false, new BtfEnumValue("MODE_A", 0), new BtfEnumValue("MODE_B", 5));
        uint ch = b.AddInt("char", 1, BtfIntEncoding.Signed);
        uint label = b.AddArray(ch, u32, 8);
        uint Var(string name, uint type) => b.AddVar(name, b.AddConst(b.AddVolatile(type)));
        uint knobVar = Var("knob", u32), smallVar = Var("small", s8), flagVar = Var("flag", boolean), modeVar = Var("m", mode), labelVar = Var("label", label);
        uint datasec = b.AddDatasec(".rodata", 20,
            new BtfVarSecInfo(knobVar, 0, 4), new BtfVarSecInfo(smallVar, 4, 1), new BtfVarSecInfo(flagVar, 5, 1),
            new BtfVarSecInfo(modeVar, 8, 4), new BtfVarSecInfo(labelVar, 12, 8));
        var initial = new byte[20];
        initial[0] = 7;
        initial[4] = 0xff;
        "abc"u8.CopyTo(initial.AsSpan(12));
        var rodata = new MapSpec { Name = ".rodata", SectionName = ".rodata", IsInternal = true, KeySize = 4, ValueSize = 20, MaxEntries = 1, ValueTypeId = datasec, InitialValue = initial, Freeze = true };
        return new CollectionSpec
        {
            Path = "consts.o",
            Btf = b.BuildSpec(),
            Maps = new Dictionary<string, MapSpec> { [".rodata"] = rodata },
            Programs = new Dictionary<string, ProgramSpec>(),
        };
    }

    [Fact]
    public void ValuesLandAtTheirVariablesAndOthersKeepTheirInitialValue()
    {
        var spec = Spec();
        var result = CollectionConstants.Apply(spec, new Dictionary<string, object>
        {
            ["knob"] = 4000000000u, ["flag"] = true, ["m"] = "MODE_B", ["label"] = "xyz",
        });
        var data = result[".rodata"];
        Assert.Equal(4000000000u, BinaryPrimitives.ReadUInt32LittleEndian(data));
        Assert.Equal(0xff, data[4]);                        // untouched
        Assert.Equal(1, data[5]);
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8)));
        Assert.Equal("xyz\0\0\0\0\0"u8.ToArray(), data.AsSpan(12, 8).ToArray());
        Assert.Equal(7, spec.Maps[".rodata"].InitialValue![0]); // the spec itself is not modified
    }

    [Fact]
    public void SignedValuesAndRawBytes()
    {
        var data = CollectionConstants.Apply(Spec(), new Dictionary<string, object> { ["small"] = -100, ["knob"] = new byte[] { 1, 2, 3, 4 } })[".rodata"];
        Assert.Equal(unchecked((byte)-100), data[4]);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, data.AsSpan(0, 4).ToArray());
    }

    [Theory]
    [InlineData("knob", -1, "does not fit")]
    [InlineData("small", 128, "does not fit")]
    [InlineData("flag", 2, "expects a bool")]
    [InlineData("m", "MODE_C", "not an enumerator")]
    [InlineData("label", "far too long", "holds 8")]
    [InlineData("nosuch", 1, "no such variable")]
    public void WrongValuesAreRefusedWithTheReason(string name, object value, string reason)
    {
        var e = Assert.Throws<BpfLoadException>(() => CollectionConstants.Apply(Spec(), new Dictionary<string, object> { [name] = value }));
        Assert.Contains(reason, e.Message);
        Assert.Contains(name, e.Message);
        Assert.Equal("consts.o", e.ObjectPath);
    }

    [Fact]
    public void RawBytesMustHaveTheVariablesSize() =>
        Assert.Contains("exactly 4 bytes", Assert.Throws<BpfLoadException>(() =>
            CollectionConstants.Apply(Spec(), new Dictionary<string, object> { ["knob"] = new byte[3] })).Message);
}
