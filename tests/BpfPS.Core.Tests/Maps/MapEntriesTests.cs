using System.Buffers.Binary;
using System.Collections;
using BpfPS.Core.Kernel;
using BpfPS.Core.Maps;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Maps;

/// <summary>Map entries through the codec against real kernel maps; raw bytes are checked with the kernel layer directly.</summary>
public class MapEntriesTests
{
    [SkippableFact]
    public void WritesAndReadsRecordsThroughBtf()
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(BpfMapType.Hash, kit.U32, kit.Stats, 16);
        var entries = MapEntries.Open(fd, kit.Btf);

        entries.Set(7u, new Hashtable { ["packets"] = 5, ["comm"] = "bash", ["mode"] = "ON" });

        // The bytes in the kernel, read without MapEntries.
        var raw = new byte[32];
        Assert.True(BpfSyscall.MapLookup(fd, BitConverter.GetBytes(7u), raw));
        Assert.Equal(5UL, BinaryPrimitives.ReadUInt64LittleEndian(raw));
        Assert.Equal("bash\0"u8.ToArray(), raw[8..13]);
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(24)));

        var value = Assert.IsType<BtfRecord>(entries.Get(7));
        Assert.Equal(5UL, value["packets"]);
        Assert.Equal("bash", value["comm"]);
        Assert.Equal("ON", value["mode"]);
        Assert.False(entries.TryGet(8, out _));
        Assert.Throws<KeyNotFoundException>(() => entries.Get(8));
    }

    [SkippableFact]
    public void ArrayKeysWithoutBtfReadAsIndexes()
    {
        KernelTestSupport.RequireBpf();
        // Like a global data map (.rodata): an array with no key/value BTF.
        using var fd = BpfSyscall.MapCreate(BpfMapType.Array, 4, 8, 2);
        var entries = MapEntries.Open(fd);
        entries.Set(1u, BitConverter.GetBytes(42UL));

        Assert.IsNotType<RawValueCodec>(entries.KeyCodec);
        var keys = entries.Enumerate().Select(e => e.Key).ToArray();
        Assert.Equal(new object[] { 0u, 1u }, keys);
        Assert.Equal(BitConverter.GetBytes(42UL), entries.Get(1u));
    }

    [SkippableFact]
    public void OpenReadsTheMapsBtfBackFromTheKernel()
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(BpfMapType.Hash, kit.FlowKey, kit.U64, 16);
        var key = new Hashtable { ["addr"] = 0x0100007f, ["port"] = 443, ["proto"] = 6 };
        MapEntries.Open(fd, kit.Btf).Set(key, 99);

        var fromKernel = MapEntries.Open(fd);   // no spec given: BTF fetched by the map's btf_id
        Assert.IsType<BtfValueCodec>(fromKernel.KeyCodec);
        var entry = Assert.Single(fromKernel.Enumerate());
        var flow = Assert.IsType<BtfRecord>(entry.Key);
        Assert.Equal("struct flow", flow.TypeName);
        Assert.Equal(0x0100007fu, flow["addr"]);
        Assert.Equal((ushort)443, flow["port"]);
        Assert.Equal((byte)6, flow["proto"]);
        Assert.Equal(99UL, entry.Value);
    }

    [SkippableFact]
    public void BadKeysAndValuesLeaveTheMapUnchangedAndMakeNoWrite()
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(BpfMapType.Hash, kit.FlowKey, kit.Stats, 16);
        var entries = MapEntries.Open(fd, kit.Btf);
        entries.Set(new Hashtable { ["addr"] = 1 }, new Hashtable { ["packets"] = 1 });
        var before = MapTestKit.RawDump(fd, 8, 32);

        var stats = SyscallStats.Current;
        stats.Reset();
        Assert.Equal("key.port", Assert.Throws<BtfValueException>(() => entries.Set(new Hashtable { ["addr"] = 2, ["port"] = 70000 }, new Hashtable())).Path);
        Assert.Equal("key.prot", Assert.Throws<BtfValueException>(() => entries.Set(new Hashtable { ["prot"] = 6 }, new Hashtable())).Path);
        Assert.Equal("key", Assert.Throws<BtfValueException>(() => entries.Set(new byte[7], new Hashtable())).Path);
        Assert.Equal("key", Assert.Throws<BtfValueException>(() => entries.Set(null, new Hashtable())).Path);
        Assert.Equal("value.comm", Assert.Throws<BtfValueException>(() => entries.Set(new Hashtable { ["addr"] = 1 }, new Hashtable { ["comm"] = new string('x', 17) })).Path);
        Assert.Equal("key", Assert.Throws<BtfValueException>(() => entries.Delete(5)).Path);
        Assert.Equal(0, stats.CallCount(BpfCommand.MapUpdateElem));
        Assert.Equal(0, stats.CallCount(BpfCommand.MapDeleteElem));

        var after = MapTestKit.RawDump(fd, 8, 32);
        Assert.Equal(before.Select(e => Convert.ToHexString(e.Key) + Convert.ToHexString(e.Value)),
                     after.Select(e => Convert.ToHexString(e.Key) + Convert.ToHexString(e.Value)));
    }

    [SkippableFact]
    public void UpdateFlagsAreHonouredAndRefusalsNameTheMap()
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(BpfMapType.Hash, kit.U32, kit.U64, 4, name: "flagged");
        var entries = MapEntries.Open(fd, kit.Btf);
        entries.Set(1, 10, MapUpdateFlags.NoExist);
        var exists = Assert.Throws<BpfSyscallException>(() => entries.Set(1, 11, MapUpdateFlags.NoExist));
        Assert.Equal(Errno.EEXIST, exists.ErrorNumber);
        Assert.Contains("map 'flagged', key 1", exists.Message);
        Assert.Equal(Errno.ENOENT, Assert.Throws<BpfSyscallException>(() => entries.Set(2, 1, MapUpdateFlags.Exist)).ErrorNumber);
        entries.Set(1, 12, MapUpdateFlags.Exist);
        Assert.Equal(12UL, entries.Get(1));
        Assert.True(entries.Delete(1));
        Assert.False(entries.Delete(1));
    }

    [SkippableFact]
    public void PerCpuValuesHaveOneSlotPerPossibleCpu()
    {
        using var kit = new MapTestKit();
        // A 4-byte value: each CPU's slot is rounded up to 8 bytes.
        using var fd = kit.Create(BpfMapType.PercpuArray, kit.U32, kit.U32, 2);
        var entries = MapEntries.Open(fd, kit.Btf);
        int cpus = PossibleCpus.Count;
        Assert.Equal(cpus, entries.CpuCount);
        Assert.Equal(8, entries.ValueStride);

        entries.Set(0, 7);   // one value: every CPU
        var perCpu = Enumerable.Range(0, cpus).Select(i => (object)(100 + i)).ToArray();
        entries.Set(1, perCpu);

        var raw = new byte[8 * cpus];
        Assert.True(BpfSyscall.MapLookup(fd, BitConverter.GetBytes(1u), raw));
        for (int cpu = 0; cpu < cpus; cpu++)
            Assert.Equal((uint)(100 + cpu), BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(8 * cpu)));

        Assert.Equal(Enumerable.Repeat((object?)7u, cpus).ToArray(), entries.Get(0));
        Assert.Equal(perCpu.Select(v => (object?)(uint)(int)v).ToArray(), entries.Get(1));

        var wrongCount = Assert.Throws<BtfValueException>(() => entries.Set(0, Enumerable.Repeat(1, cpus + 1).ToArray()));
        Assert.Contains($"each of its {cpus} possible CPUs", wrongCount.Message);
        Assert.Equal(Enumerable.Repeat((object?)7u, cpus).ToArray(), entries.Get(0));
    }

    [SkippableTheory]
    [InlineData(BpfMapType.Hash)]
    [InlineData(BpfMapType.PercpuHash)]
    [InlineData(BpfMapType.Array)]
    public void BatchAndKeyByKeyIterationAgree(BpfMapType type)
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(type, kit.U32, kit.Stats, 700);
        var entries = MapEntries.Open(fd, kit.Btf);
        for (uint i = 0; i < 600; i++)
            entries.Set(i * 3 % 700, new Hashtable { ["packets"] = i, ["comm"] = $"n{i}", ["mode"] = i % 2 });

        var stats = SyscallStats.Current;
        stats.Reset();
        var batched = entries.Enumerate(MapIterationMode.Batch).ToList();
        Assert.True(stats.CallCount(BpfCommand.MapLookupBatch) >= 1);
        Assert.Equal(0, stats.CallCount(BpfCommand.MapGetNextKey));
        var oneByOne = entries.Enumerate(MapIterationMode.KeyByKey).ToList();
        var auto = entries.Enumerate().ToList();

        int expected = type == BpfMapType.Array ? 700 : 600;   // every array index exists
        Assert.Equal(expected, batched.Count);
        var byKey = oneByOne.ToDictionary(e => e.Key!);
        Assert.Equal(expected, byKey.Count);
        foreach (var entry in batched)
            Assert.True(ValueEquality.Equal(byKey[entry.Key!].Value, entry.Value), $"key {entry.Key}: {entry.Value} vs {byKey[entry.Key!].Value}");
        Assert.Equal(batched.Select(e => e.Key).Order(), auto.Select(e => e.Key).Order());
    }

    [SkippableFact]
    public void AutoFallsBackToKeyByKeyWhenTheKernelRefusesBatches()
    {
        using var kit = new MapTestKit();
        using var fd = kit.Create(BpfMapType.Hash, kit.U32, kit.U64, 100);
        var entries = MapEntries.Open(fd, kit.Btf);
        for (uint i = 0; i < 10; i++) entries.Set(i, i * i);

        using (BpfFaultInjection.FailFrom(BpfCommand.MapLookupBatch, 1, Errno.EINVAL))
        {
            Assert.Equal(10, entries.Enumerate().Count());
            Assert.Equal(Errno.EINVAL, Assert.Throws<BpfSyscallException>(() => entries.Enumerate(MapIterationMode.Batch).ToList()).ErrorNumber);
        }
    }

    [SkippableFact]
    public void ClearDeletesHashEntriesAndZeroesArrays()
    {
        using var kit = new MapTestKit();
        using var hash = kit.Create(BpfMapType.Hash, kit.U32, kit.U64, 32);
        var hashEntries = MapEntries.Open(hash, kit.Btf);
        for (uint i = 0; i < 20; i++) hashEntries.Set(i, i + 1);
        Assert.Equal(20, hashEntries.Clear());
        Assert.Empty(MapTestKit.RawDump(hash, 4, 8));

        using var array = kit.Create(BpfMapType.Array, kit.U32, kit.U64, 5);
        var arrayEntries = MapEntries.Open(array, kit.Btf);
        for (uint i = 0; i < 5; i++) arrayEntries.Set(i, 1000 + i);
        Assert.Throws<NotSupportedException>(() => arrayEntries.Delete(1));
        Assert.Equal(5, arrayEntries.Clear());
        Assert.All(MapTestKit.RawDump(array, 4, 8), e => Assert.Equal(new byte[8], e.Value));
    }

    [SkippableFact]
    public void MapsWithoutBtfUseRawBytes()
    {
        KernelTestSupport.RequireBpf();
        using var fd = BpfSyscall.MapCreate(BpfMapType.Hash, 4, 2, 8, name: "raw");
        var entries = MapEntries.Open(fd);
        Assert.IsType<RawValueCodec>(entries.KeyCodec);
        entries.Set(0x01020304, new byte[] { 9, 8 });
        var entry = Assert.Single(entries.Enumerate());
        Assert.Equal(new byte[] { 4, 3, 2, 1 }, entry.Key);
        Assert.Equal(new byte[] { 9, 8 }, entry.Value);
    }

    [SkippableFact]
    public void KeylessMapsRefuseKeyOperations()
    {
        KernelTestSupport.RequireBpf();
        using var fd = BpfSyscall.MapCreate(BpfMapType.Queue, 0, 4, 8, name: "queue");
        var entries = MapEntries.Open(fd);
        Assert.Throws<NotSupportedException>(() => entries.Get(0));
        Assert.Throws<NotSupportedException>(() => entries.Enumerate().ToList());
        Assert.Throws<NotSupportedException>(() => entries.Clear());
    }
}
