using System.Buffers.Binary;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

public class MapSyscallTests
{
    private static byte[] U32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }
    private static byte[] U64(ulong v) { var b = new byte[8]; BinaryPrimitives.WriteUInt64LittleEndian(b, v); return b; }

    [SkippableFact]
    public void HashMapCreateUpdateLookupDelete()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.Hash, 4, 8, 16, name: "bpfps_hash");

        var value = new byte[8];
        Assert.False(BpfSyscall.MapLookup(map, U32(7), value));

        BpfSyscall.MapUpdate(map, U32(7), U64(0x1122334455667788));
        Assert.True(BpfSyscall.MapLookup(map, U32(7), value));
        Assert.Equal(0x1122334455667788UL, BinaryPrimitives.ReadUInt64LittleEndian(value));

        // BPF_NOEXIST on an existing key is refused with EEXIST.
        var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.MapUpdate(map, U32(7), U64(1), BpfSyscall.UpdateNoExist));
        Assert.Equal(Errno.EEXIST, e.ErrorNumber);
        Assert.Equal(BpfCommand.MapUpdateElem, e.Command);

        Assert.True(BpfSyscall.MapDelete(map, U32(7)));
        Assert.False(BpfSyscall.MapDelete(map, U32(7)));
        Assert.False(BpfSyscall.MapLookup(map, U32(7), value));
    }

    [SkippableFact]
    public void GetNextKeyVisitsEveryKeyOnce()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.Hash, 4, 4, 64);
        var expected = new HashSet<uint> { 3, 17, 42, 1000, 65536 };
        foreach (var k in expected) BpfSyscall.MapUpdate(map, U32(k), U32(k * 2));

        var seen = new List<uint>();
        var key = Array.Empty<byte>();
        var next = new byte[4];
        while (BpfSyscall.MapGetNextKey(map, key, next))
        {
            seen.Add(BinaryPrimitives.ReadUInt32LittleEndian(next));
            key = next.ToArray();
        }
        Assert.Equal(expected.OrderBy(x => x), seen.OrderBy(x => x));
    }

    [SkippableFact]
    public void BatchUpdateLookupDelete()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.Hash, 4, 4, 64);
        const int n = 10;
        var keys = new byte[n * 4];
        var values = new byte[n * 4];
        for (int i = 0; i < n; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(keys.AsSpan(i * 4), (uint)(100 + i));
            BinaryPrimitives.WriteUInt32LittleEndian(values.AsSpan(i * 4), (uint)(i * i));
        }
        uint count = n;
        BpfSyscall.MapUpdateBatch(map, keys, values, ref count);
        Assert.Equal((uint)n, count);

        var outKeys = new byte[64 * 4];
        var outValues = new byte[64 * 4];
        var cursor = new byte[4];
        uint read = 64;
        bool more = BpfSyscall.MapLookupBatch(map, default, cursor, outKeys, outValues, ref read);
        Assert.False(more); // everything fit in one batch, so the kernel reports the end (ENOENT)
        Assert.Equal((uint)n, read);
        var got = new Dictionary<uint, uint>();
        for (int i = 0; i < read; i++)
            got[BinaryPrimitives.ReadUInt32LittleEndian(outKeys.AsSpan(i * 4))] = BinaryPrimitives.ReadUInt32LittleEndian(outValues.AsSpan(i * 4));
        for (int i = 0; i < n; i++) Assert.Equal((uint)(i * i), got[(uint)(100 + i)]);

        uint deleteCount = 4;
        BpfSyscall.MapDeleteBatch(map, keys.AsSpan(0, 16), ref deleteCount);
        Assert.Equal(4u, deleteCount);
        Assert.False(BpfSyscall.MapLookup(map, keys.AsSpan(0, 4), new byte[4]));
        Assert.True(BpfSyscall.MapLookup(map, keys.AsSpan(16, 4), new byte[4]));
    }

    [SkippableFact]
    public void FrozenMapRefusesWritesFromUserSpace()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
        BpfSyscall.MapUpdate(map, U32(0), U32(5));
        BpfSyscall.MapFreeze(map);
        var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.MapUpdate(map, U32(0), U32(6)));
        Assert.Equal(Errno.EPERM, e.ErrorNumber);
        var value = new byte[4];
        Assert.True(BpfSyscall.MapLookup(map, U32(0), value));
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(value));
    }

    [SkippableFact]
    public void MapInfoReportsShapeNameAndAVisibleId()
    {
        KernelTestSupport.RequireBpf();
        using var map = BpfSyscall.MapCreate(BpfMapType.LruHash, 8, 16, 32, name: "a_name_longer_than_fifteen");
        var info = BpfSyscall.GetMapInfo(map);
        Assert.Equal(BpfMapType.LruHash, info.Type);
        Assert.Equal(8u, info.KeySize);
        Assert.Equal(16u, info.ValueSize);
        Assert.Equal(32u, info.MaxEntries);
        Assert.Equal("a_name_longer_t", info.Name); // BPF_OBJ_NAME_LEN - 1 characters
        Assert.Contains(info.Id, BpfSyscall.MapIds());

        using var again = BpfSyscall.MapGetFdById(info.Id);
        Assert.Equal(info.Id, BpfSyscall.GetMapInfo(again).Id);
    }

    [SkippableFact]
    public void DisposingTheFdClosesItOnce()
    {
        KernelTestSupport.RequireBpf();
        var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
        int fd = map.Value;
        Assert.True(KernelTestSupport.IsOpen(fd));
        map.Dispose();
        Assert.False(KernelTestSupport.IsOpen(fd));
        map.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => BpfSyscall.MapLookup(map, U32(0), new byte[4]));
    }

    [Fact]
    public void FdZeroIsValidAndMinusOneIsNot()
    {
        using var zero = new BpfFd(0, ownsHandle: false);
        using var invalid = new BpfFd(-1);
        Assert.False(zero.IsInvalid);
        Assert.True(invalid.IsInvalid);
    }
}
