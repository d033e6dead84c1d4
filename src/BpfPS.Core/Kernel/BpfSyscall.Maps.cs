namespace BpfPS.Core.Kernel;

// Map commands: create, element access, iteration, batches, freeze.
public static unsafe partial class BpfSyscall
{
    /// <summary>BPF_ANY / BPF_NOEXIST / BPF_EXIST for updates; BPF_F_LOCK for spin-locked values.</summary>
    public const ulong UpdateAny = 0, UpdateNoExist = 1, UpdateExist = 2, UpdateLock = 4;

    /// <summary>BPF_MAP_CREATE. <paramref name="name"/> is truncated to 15 bytes.</summary>
    public static BpfFd MapCreate(BpfMapType type, uint keySize, uint valueSize, uint maxEntries, uint flags = 0,
        string? name = null, BpfFd? innerMap = null, BpfFd? btf = null, uint btfKeyTypeId = 0, uint btfValueTypeId = 0,
        uint btfVmlinuxValueTypeId = 0, uint numaNode = 0, ulong mapExtra = 0)
    {
        var attr = new MapCreateAttr
        {
            MapType = (uint)type, KeySize = keySize, ValueSize = valueSize, MaxEntries = maxEntries, MapFlags = flags,
            NumaNode = numaNode, MapExtra = mapExtra,
            BtfKeyTypeId = btfKeyTypeId, BtfValueTypeId = btfValueTypeId, BtfVmlinuxValueTypeId = btfVmlinuxValueTypeId,
        };
        WriteObjectName(attr.MapName, name);
        using var inner = innerMap is null ? default : innerMap.Lease();
        using var btfLease = btf is null ? default : btf.Lease();
        if (innerMap is not null) attr.InnerMapFd = (uint)inner.Value;
        if (btf is not null) attr.BtfFd = (uint)btfLease.Value;
        return Own(InvokeChecked(BpfCommand.MapCreate, ref attr, name is null ? null : $"map '{name}'"));
    }

    /// <summary>BPF_MAP_LOOKUP_ELEM into <paramref name="value"/>. False when the key is absent (ENOENT).</summary>
    /// <remarks><paramref name="key"/> must hold key_size bytes and <paramref name="value"/> the map's value size (per-CPU maps: rounded to 8, times possible CPUs).</remarks>
    public static bool MapLookup(BpfFd map, ReadOnlySpan<byte> key, Span<byte> value, ulong flags = 0)
    {
        using var lease = map.Lease();
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { MapFd = (uint)lease.Value, Key = Address(k), ValueOrNextKey = Address(v), Flags = flags };
            if (Invoke(BpfCommand.MapLookupElem, ref attr, out int errno) >= 0) return true;
            if (errno == Errno.ENOENT) return false;
            throw new BpfSyscallException(BpfCommand.MapLookupElem, errno);
        }
    }

    /// <summary>BPF_MAP_UPDATE_ELEM with <paramref name="flags"/> (<see cref="UpdateAny"/> etc.).</summary>
    public static void MapUpdate(BpfFd map, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags = UpdateAny)
    {
        using var lease = map.Lease();
        fixed (byte* k = key)
        fixed (byte* v = value)
        {
            var attr = new MapElemAttr { MapFd = (uint)lease.Value, Key = Address(k), ValueOrNextKey = Address(v), Flags = flags };
            InvokeChecked(BpfCommand.MapUpdateElem, ref attr);
        }
    }

    /// <summary>BPF_MAP_DELETE_ELEM. False when the key is absent (ENOENT).</summary>
    public static bool MapDelete(BpfFd map, ReadOnlySpan<byte> key)
    {
        using var lease = map.Lease();
        fixed (byte* k = key)
        {
            var attr = new MapElemAttr { MapFd = (uint)lease.Value, Key = Address(k) };
            if (Invoke(BpfCommand.MapDeleteElem, ref attr, out int errno) >= 0) return true;
            if (errno == Errno.ENOENT) return false;
            throw new BpfSyscallException(BpfCommand.MapDeleteElem, errno);
        }
    }

    /// <summary>
    /// BPF_MAP_GET_NEXT_KEY: the key after <paramref name="key"/>, or the first key when <paramref name="key"/> is empty.
    /// False at the end of the map.
    /// </summary>
    public static bool MapGetNextKey(BpfFd map, ReadOnlySpan<byte> key, Span<byte> nextKey)
    {
        using var lease = map.Lease();
        fixed (byte* k = key)
        fixed (byte* n = nextKey)
        {
            var attr = new MapElemAttr { MapFd = (uint)lease.Value, Key = key.IsEmpty ? 0 : Address(k), ValueOrNextKey = Address(n) };
            if (Invoke(BpfCommand.MapGetNextKey, ref attr, out int errno) >= 0) return true;
            if (errno == Errno.ENOENT) return false;
            throw new BpfSyscallException(BpfCommand.MapGetNextKey, errno);
        }
    }

    /// <summary>
    /// BPF_MAP_LOOKUP_BATCH: reads up to <paramref name="count"/> entries into <paramref name="keys"/>/<paramref name="values"/>
    /// starting after the opaque cursor <paramref name="inBatch"/> (empty: from the start); <paramref name="outBatch"/> receives
    /// the next cursor (key-sized for hash maps). <paramref name="count"/> returns how many were read. False when the map is exhausted.
    /// </summary>
    public static bool MapLookupBatch(BpfFd map, ReadOnlySpan<byte> inBatch, Span<byte> outBatch, Span<byte> keys, Span<byte> values,
        ref uint count, ulong elemFlags = 0)
    {
        using var lease = map.Lease();
        fixed (byte* ib = inBatch)
        fixed (byte* ob = outBatch)
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            var attr = new MapBatchAttr
            {
                InBatch = inBatch.IsEmpty ? 0 : Address(ib), OutBatch = Address(ob), Keys = Address(k), Values = Address(v),
                Count = count, MapFd = (uint)lease.Value, ElemFlags = elemFlags,
            };
            int result = Invoke(BpfCommand.MapLookupBatch, ref attr, out int errno);
            count = attr.Count;
            if (result >= 0) return true;
            if (errno == Errno.ENOENT) return false;
            throw new BpfSyscallException(BpfCommand.MapLookupBatch, errno);
        }
    }

    /// <summary>BPF_MAP_UPDATE_BATCH of <paramref name="count"/> entries; <paramref name="count"/> returns how many were written.</summary>
    public static void MapUpdateBatch(BpfFd map, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values, ref uint count, ulong elemFlags = UpdateAny)
    {
        using var lease = map.Lease();
        fixed (byte* k = keys)
        fixed (byte* v = values)
        {
            var attr = new MapBatchAttr { Keys = Address(k), Values = Address(v), Count = count, MapFd = (uint)lease.Value, ElemFlags = elemFlags };
            int result = Invoke(BpfCommand.MapUpdateBatch, ref attr, out int errno);
            count = attr.Count;
            if (result < 0) throw new BpfSyscallException(BpfCommand.MapUpdateBatch, errno);
        }
    }

    /// <summary>BPF_MAP_DELETE_BATCH of <paramref name="count"/> keys; <paramref name="count"/> returns how many were deleted.</summary>
    public static void MapDeleteBatch(BpfFd map, ReadOnlySpan<byte> keys, ref uint count, ulong elemFlags = 0)
    {
        using var lease = map.Lease();
        fixed (byte* k = keys)
        {
            var attr = new MapBatchAttr { Keys = Address(k), Count = count, MapFd = (uint)lease.Value, ElemFlags = elemFlags };
            int result = Invoke(BpfCommand.MapDeleteBatch, ref attr, out int errno);
            count = attr.Count;
            if (result < 0) throw new BpfSyscallException(BpfCommand.MapDeleteBatch, errno);
        }
    }

    /// <summary>BPF_MAP_FREEZE: no more writes from user space (programs still read; .rodata becomes constant to the verifier).</summary>
    public static void MapFreeze(BpfFd map)
    {
        using var lease = map.Lease();
        var attr = new MapElemAttr { MapFd = (uint)lease.Value };
        InvokeChecked(BpfCommand.MapFreeze, ref attr);
    }
}
