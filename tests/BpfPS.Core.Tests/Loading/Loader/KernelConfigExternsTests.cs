using System.Buffers.Binary;
using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// __kconfig values follow libbpf 1.1 (bpf_object__process_kconfig_line, set_kcfg_value_*): the extern's C type decides
/// which spellings are accepted. Objects are hand-built with BtfBuilder.
/// </summary>
public class KernelConfigExternsTests
{
    private sealed class KconfigObject
    {
        private readonly BtfBuilder _btf = new();
        private readonly List<(string Name, uint TypeId, bool Weak, uint Size)> _externs = [];
        public readonly uint Bool, Tristate, U32, S8, U64, Char16, U8;

        public KconfigObject()
        {
            Bool = _btf.AddInt("_Bool", 1, BtfIntEncoding.Bool);
            Tristate = _btf.AddEnum("libbpf_tristate", 4, false, new BtfEnumValue("TRI_NO", 0), new BtfEnumValue("TRI_YES", 1), new BtfEnumValue("TRI_MODULE", 2));
            U32 = _btf.AddInt("unsigned int", 4);
            S8 = _btf.AddInt("signed char", 1, BtfIntEncoding.Signed);
            U64 = _btf.AddInt("unsigned long long", 8);
            U8 = _btf.AddInt("unsigned char", 1);
            uint index = _btf.AddInt("int", 4, BtfIntEncoding.Signed);
            uint ch = _btf.AddInt("char", 1, BtfIntEncoding.Signed); // clang encodes plain char as signed
            Char16 = _btf.AddArray(ch, index, 16);
        }

        public KconfigObject Extern(string name, uint typeId, uint size, bool weak = false)
        {
            _externs.Add((name, _btf.AddVar(name, typeId, BtfLinkage.Extern), weak, size));
            return this;
        }

        /// <summary>Lays externs out one after another at 8-byte alignment and fills the map.</summary>
        public byte[] Fill(IReadOnlyDictionary<string, string>? config, Func<string, ulong?>? linux = null)
        {
            var spec = Spec(out var map);
            return KernelConfigExterns.Build(spec, map, linux ?? (_ => null), () => config);
        }

        public CollectionSpec Spec(out MapSpec map)
        {
            var externs = ImmutableArray.CreateBuilder<ExternSpec>();
            uint offset = 0;
            foreach (var (name, typeId, weak, size) in _externs)
            {
                externs.Add(new ExternSpec(name, ExternKind.Kconfig, typeId, weak, offset, size));
                offset += (size + 7) & ~7u;
            }
            map = new MapSpec { Name = ".kconfig", SectionName = ".kconfig", IsInternal = true, KeySize = 4, ValueSize = Math.Max(offset, 8), MaxEntries = 1 };
            return new CollectionSpec
            {
                Path = "kconfig.o",
                Btf = _btf.BuildSpec("kconfig.o:.BTF"),
                Maps = new Dictionary<string, MapSpec> { [".kconfig"] = map },
                Programs = new Dictionary<string, ProgramSpec>(),
                Externs = externs.ToImmutable(),
            };
        }
    }

    private static Dictionary<string, string> Config(params (string, string)[] entries) => entries.ToDictionary(e => e.Item1, e => e.Item2);

    [Fact]
    public void BoolTristateIntCharAndStringValues()
    {
        var o = new KconfigObject();
        o.Extern("CONFIG_A_BOOL", o.Bool, 1)          // offset 0
         .Extern("CONFIG_A_TRI", o.Tristate, 4)       // 8
         .Extern("CONFIG_MODULE_TRI", o.Tristate, 4)  // 16
         .Extern("CONFIG_HZ", o.U32, 4)               // 24
         .Extern("CONFIG_HEX", o.U64, 8)              // 32
         .Extern("CONFIG_STR", o.Char16, 16)          // 40
         .Extern("CONFIG_CHAR", o.U8, 1);             // 56
        var data = o.Fill(Config(("CONFIG_A_BOOL", "y"), ("CONFIG_A_TRI", "y"), ("CONFIG_MODULE_TRI", "m"), ("CONFIG_HZ", "250"),
            ("CONFIG_HEX", "0x1234567890"), ("CONFIG_STR", "\"hello\""), ("CONFIG_CHAR", "m")));

        Assert.Equal(1, data[0]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(8)));   // TRI_YES
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(16)));  // TRI_MODULE
        Assert.Equal(250u, BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(24)));
        Assert.Equal(0x1234567890UL, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(32)));
        Assert.Equal("hello\0"u8.ToArray(), data.AsSpan(40, 6).ToArray());
        Assert.Equal((byte)'m', data[56]);                                         // char keeps the letter
    }

    [Fact]
    public void LongStringsAreTruncatedAndTerminated()
    {
        var o = new KconfigObject();
        o.Extern("CONFIG_STR", o.Char16, 16);
        var data = o.Fill(Config(("CONFIG_STR", "\"0123456789abcdefXYZ\"")));
        Assert.Equal("0123456789abcde\0"u8.ToArray(), data.AsSpan(0, 16).ToArray());
    }

    [Theory]
    [InlineData("m", "implies tristate or char")]      // bool cannot be a module
    [InlineData("\"text\"", "implies char array")]
    [InlineData("2", "implies integer type")]          // libbpf checks the integer path before the bool range
    [InlineData("12abc", "isn't a valid integer")]
    public void BoolRefusesOtherSpellings(string value, string reason)
    {
        var o = new KconfigObject();
        o.Extern("CONFIG_B", o.Bool, 1);
        var e = Assert.Throws<BpfLoadException>(() => o.Fill(Config(("CONFIG_B", value))));
        Assert.Contains(reason, e.Message);
        Assert.Contains("CONFIG_B", e.Message);
        Assert.Contains("kconfig.o", e.Message);
    }

    [Fact]
    public void IntegersMustFitTheirType()
    {
        var o = new KconfigObject();
        o.Extern("CONFIG_SMALL", o.S8, 1);
        Assert.Contains("doesn't fit", Assert.Throws<BpfLoadException>(() => o.Fill(Config(("CONFIG_SMALL", "200")))).Message);
        Assert.Equal(unchecked((byte)-5), o.Fill(Config(("CONFIG_SMALL", "-5")))[0]);
        Assert.Equal(0x7f, o.Fill(Config(("CONFIG_SMALL", "0177")))[0]); // strtoull base 0: leading 0 is octal
    }

    [Fact]
    public void MissingStrongExternFailsAndMissingWeakStaysZero()
    {
        var strong = new KconfigObject();
        strong.Extern("CONFIG_ABSENT", strong.U32, 4);
        Assert.Contains("CONFIG_ABSENT", Assert.Throws<BpfLoadException>(() => strong.Fill(Config())).Message);

        var weak = new KconfigObject();
        weak.Extern("CONFIG_ABSENT", weak.U32, 4, weak: true);
        Assert.All(weak.Fill(Config()), b => Assert.Equal(0, b));
        Assert.All(weak.Fill(null), b => Assert.Equal(0, b)); // no configuration at all
    }

    [Fact]
    public void LinuxVirtualValuesComeFromTheLoaderAndUnknownOnesNeedWeak()
    {
        var o = new KconfigObject();
        o.Extern("LINUX_KERNEL_VERSION", o.U32, 4).Extern("LINUX_SOMETHING_NEW", o.U64, 8, weak: true);
        var data = o.Fill(null, name => name == "LINUX_KERNEL_VERSION" ? 0x61200 : null);
        Assert.Equal(0x61200u, BinaryPrimitives.ReadUInt32LittleEndian(data));
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(data.AsSpan(8)));

        var strong = new KconfigObject();
        strong.Extern("LINUX_SOMETHING_NEW", strong.U64, 8);
        Assert.Contains("unrecognised virtual extern", Assert.Throws<BpfLoadException>(() => strong.Fill(null)).Message);
    }

    [Fact]
    public void ConfigIsReadOnlyWhenAConfigExternExists()
    {
        var o = new KconfigObject();
        o.Extern("LINUX_KERNEL_VERSION", o.U32, 4);
        var spec = o.Spec(out var map);
        bool read = false;
        KernelConfigExterns.Build(spec, map, _ => 1, () => { read = true; return null; });
        Assert.False(read);
    }
}
