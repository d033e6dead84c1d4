using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Maps;

/// <summary>
/// Kernel maps with hand-built BTF for their keys and values: the BTF is loaded with BPF_BTF_LOAD and the map created
/// with BPF_MAP_CREATE naming the type ids, as libbpf does for a BTF-defined map.
/// </summary>
internal sealed class MapTestKit : IDisposable
{
    public readonly BtfSpec Btf;
    public readonly BpfFd BtfFd;
    public readonly uint U32, U64, Char, Comm, Mode, Stats, FlowKey;

    /// <summary>Types: u32, u64, char[16] comm, enum mode { OFF, ON }, struct stats { u64 packets; char comm[16]; enum mode mode; }, struct flow { u32 addr; u16 port; u8 proto; u8 pad; }.</summary>
    public MapTestKit()
    {
        KernelTestSupport.RequireBpf();
        var b = new BtfBuilder();
        U32 = b.AddInt("unsigned int", 4);
        U64 = b.AddInt("unsigned long long", 8);
        Char = b.AddInt("char", 1, BtfIntEncoding.Signed);
        uint u16 = b.AddInt("unsigned short", 2);
        uint u8 = b.AddInt("unsigned char", 1);
        Comm = b.AddArray(Char, U32, 16);
        Mode = b.AddEnum("mode", 4, false, new BtfEnumValue("OFF", 0), new BtfEnumValue("ON", 1));
        Stats = b.AddStruct("stats", 32,
            new BtfMember("packets", U64, 0, 0),
            new BtfMember("comm", Comm, 64, 0),
            new BtfMember("mode", Mode, 192, 0));
        FlowKey = b.AddStruct("flow", 8,
            new BtfMember("addr", U32, 0, 0),
            new BtfMember("port", u16, 32, 0),
            new BtfMember("proto", u8, 48, 0),
            new BtfMember("pad", u8, 56, 0));
        var raw = b.Build();
        Btf = BtfSpec.Parse(raw, "MapTestKit");
        BtfFd = BpfSyscall.BtfLoad(raw);
    }

    public BpfFd Create(BpfMapType type, uint keyTypeId, uint valueTypeId, uint maxEntries, string name = "bpfps_test", uint flags = 0) =>
        BpfSyscall.MapCreate(type, Btf.SizeOf(keyTypeId), Btf.SizeOf(valueTypeId), maxEntries, flags, name,
            btf: BtfFd, btfKeyTypeId: keyTypeId, btfValueTypeId: valueTypeId);

    public void Dispose() => BtfFd.Dispose();

    /// <summary>Every (key, value) of a map as raw bytes, read with the kernel layer directly (independent of MapEntries).</summary>
    public static List<(byte[] Key, byte[] Value)> RawDump(BpfFd map, int keySize, int valueBufferSize)
    {
        var result = new List<(byte[], byte[])>();
        var previous = Array.Empty<byte>();
        while (true)
        {
            var key = new byte[keySize];
            if (!BpfSyscall.MapGetNextKey(map, previous, key)) return result;
            var value = new byte[valueBufferSize];
            if (BpfSyscall.MapLookup(map, key, value)) result.Add((key, value));
            previous = key;
        }
    }
}
