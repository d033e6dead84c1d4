using BpfPS.Core.Kernel;

namespace BpfPS.Core.Maps;

// Lookups, updates, deletes, iteration and clearing: each encodes first, then makes its syscalls.
public sealed partial class MapEntries
{
    /// <summary>Entries read per BPF_MAP_LOOKUP_BATCH call (grown when a hash bucket holds more).</summary>
    private const int BatchSize = 256;
    /// <summary>Largest batch grown to on ENOSPC before giving up.</summary>
    private const int MaxBatchSize = 1 << 16;

    /// <summary>The value at <paramref name="key"/>; false when the key is absent.</summary>
    /// <exception cref="Values.BtfValueException">The key does not fit the key type (no syscall was made).</exception>
    public bool TryGet(object? key, out object? value)
    {
        var keyBytes = EncodeKey(key);
        var buffer = new byte[ValueBufferSize];
        if (!Lookup(keyBytes, buffer))
        {
            value = null;
            return false;
        }
        value = DecodeValue(buffer);
        return true;
    }

    /// <summary>The value at <paramref name="key"/>.</summary>
    /// <exception cref="KeyNotFoundException">The key is absent.</exception>
    public object? Get(object? key) => TryGet(key, out var value)
        ? value
        : throw new KeyNotFoundException($"map '{Name}' has no entry for key {Show(key)}");

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> (BPF_MAP_UPDATE_ELEM).</summary>
    /// <exception cref="Values.BtfValueException">The key or value does not fit (no syscall was made).</exception>
    /// <exception cref="BpfSyscallException">The kernel refused: EEXIST (NoExist and present), ENOENT (Exist and absent), E2BIG (full or index out of range).</exception>
    public void Set(object? key, object? value, MapUpdateFlags flags = MapUpdateFlags.Any)
    {
        var keyBytes = EncodeKey(key);
        var valueBytes = EncodeValue(value);
        try
        {
            BpfSyscall.MapUpdate(_fd, keyBytes, valueBytes, (ulong)flags);
        }
        catch (BpfSyscallException e)
        {
            throw WithContext(e, key);
        }
    }

    /// <summary>Deletes <paramref name="key"/>; false when it was absent.</summary>
    /// <exception cref="NotSupportedException">Array maps cannot delete (every index always exists): set a zero value, or <see cref="Clear"/>.</exception>
    public bool Delete(object? key)
    {
        var keyBytes = EncodeKey(key);
        if (MapKinds.IsArray(Type))
            throw new NotSupportedException($"map '{Name}' is an {Type} map: its entries cannot be deleted, only overwritten (Clear sets them to zero)");
        try
        {
            return BpfSyscall.MapDelete(_fd, keyBytes);
        }
        catch (BpfSyscallException e)
        {
            throw WithContext(e, key);
        }
    }

    /// <summary>Every entry, decoded, in the kernel's order.</summary>
    /// <remarks>Lazy: the map is read as the sequence is enumerated. Entries deleted meanwhile are skipped.</remarks>
    public IEnumerable<MapEntry> Enumerate(MapIterationMode mode = MapIterationMode.Auto)
    {
        foreach (var (key, value) in EnumerateRaw(mode))
            yield return new MapEntry(DecodeKey(key), DecodeValue(value));
    }

    /// <summary>Every key, decoded.</summary>
    public IEnumerable<object?> Keys()
    {
        foreach (var key in RawKeys())
            yield return DecodeKey(key);
    }

    /// <summary>Every entry as bytes (values are <see cref="ValueBufferSize"/> long).</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> EnumerateRaw(MapIterationMode mode = MapIterationMode.Auto)
    {
        RequireKeys();
        bool batch = mode switch
        {
            MapIterationMode.Batch => true,
            MapIterationMode.KeyByKey => false,
            _ => MapKinds.SupportsBatch(Type) && Info.MaxEntries >= BatchThreshold,
        };
        return batch ? EnumerateBatches(fallBack: mode == MapIterationMode.Auto) : EnumerateKeyByKey();
    }

    /// <summary>
    /// Removes every entry: deletes every key, or for array maps (which cannot delete) writes zeroes at every index.
    /// Returns how many entries were deleted or zeroed.
    /// </summary>
    public long Clear()
    {
        RequireKeys();
        if (MapKinds.IsArray(Type))
            return ZeroArray();
        // Collect first: deleting while walking with GET_NEXT_KEY restarts the walk at the deleted key's successor's mercy.
        var keys = RawKeys().ToList();
        long deleted = 0;
        foreach (var key in keys)
        {
            try
            {
                if (BpfSyscall.MapDelete(_fd, key)) deleted++;
            }
            catch (BpfSyscallException e)
            {
                throw WithContext(e, DecodeKey(key));
            }
        }
        return deleted;
    }

    // ---- syscalls with context -------------------------------------------------------------------------------------

    private bool Lookup(byte[] key, byte[] buffer)
    {
        try
        {
            return BpfSyscall.MapLookup(_fd, key, buffer);
        }
        catch (BpfSyscallException e)
        {
            throw WithContext(e, DecodeKeyForMessage(key));
        }
    }

    private IEnumerable<byte[]> RawKeys()
    {
        RequireKeys();
        byte[] previous = [];
        long visited = 0;
        while (true)
        {
            var key = new byte[Info.KeySize];
            bool found;
            try
            {
                found = BpfSyscall.MapGetNextKey(_fd, previous, key);
            }
            catch (BpfSyscallException e)
            {
                throw WithContext(e, null);
            }
            if (!found) yield break;
            // A key deleted under our feet makes GET_NEXT_KEY start over: more keys than the map can hold means that happened.
            if (Info.MaxEntries > 0 && ++visited > Info.MaxEntries)
                throw new InvalidOperationException($"map '{Name}' changed while it was being read (more than {Info.MaxEntries} keys seen); try again");
            yield return key;
            previous = key;
        }
    }

    private IEnumerable<(byte[] Key, byte[] Value)> EnumerateKeyByKey()
    {
        foreach (var key in RawKeys())
        {
            var value = new byte[ValueBufferSize];
            if (Lookup(key, value))
                yield return (key, value);
        }
    }

    private IEnumerable<(byte[] Key, byte[] Value)> EnumerateBatches(bool fallBack)
    {
        int batchSize = (int)Math.Clamp(Info.MaxEntries, 1u, BatchSize);
        // Hash tables use a 4-byte bucket cursor, arrays a key: room for either.
        int cursorSize = Math.Max((int)Info.KeySize, sizeof(uint));
        byte[] inCursor = [], outCursor = new byte[cursorSize];
        var keys = new byte[batchSize * (int)Info.KeySize];
        var values = new byte[batchSize * ValueBufferSize];
        bool first = true;
        while (true)
        {
            var step = LookupBatch(inCursor, outCursor, keys, values, batchSize, refusalFallsBack: first && fallBack);
            if (step.Refused)
            {
                foreach (var entry in EnumerateKeyByKey())
                    yield return entry;
                yield break;
            }
            if (step.Grow)
            {
                batchSize *= 2;
                keys = new byte[batchSize * (int)Info.KeySize];
                values = new byte[batchSize * ValueBufferSize];
                continue;
            }
            for (int i = 0; i < step.Count; i++)
                yield return (keys.AsSpan(i * (int)Info.KeySize, (int)Info.KeySize).ToArray(),
                              values.AsSpan(i * ValueBufferSize, ValueBufferSize).ToArray());
            if (!step.More) yield break;
            (inCursor, outCursor) = (outCursor, inCursor.Length == cursorSize ? inCursor : new byte[cursorSize]);
            first = false;
        }
    }

    private readonly record struct BatchStep(int Count, bool More, bool Refused, bool Grow);

    private BatchStep LookupBatch(byte[] inCursor, byte[] outCursor, byte[] keys, byte[] values, int batchSize, bool refusalFallsBack)
    {
        uint count = (uint)batchSize;
        try
        {
            bool more = BpfSyscall.MapLookupBatch(_fd, inCursor, outCursor, keys, values, ref count);
            return new BatchStep((int)count, more, false, false);
        }
        catch (BpfSyscallException e) when (refusalFallsBack && e.ErrorNumber is Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            return new BatchStep(0, false, true, false);   // an older kernel, or a type without batch ops
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOSPC && batchSize < MaxBatchSize)
        {
            return new BatchStep(0, true, false, true);    // one hash bucket holds more entries than the batch
        }
        catch (BpfSyscallException e)
        {
            throw WithContext(e, null);
        }
    }

    /// <summary>Writes a zero value at every index of an array map, in batches where the kernel takes them.</summary>
    private long ZeroArray()
    {
        uint entries = Info.MaxEntries;
        int batchSize = (int)Math.Clamp(entries, 1u, BatchSize);
        var keys = new byte[batchSize * sizeof(uint)];
        var zeroes = new byte[batchSize * ValueBufferSize];
        bool useBatch = MapKinds.SupportsBatch(Type);
        for (uint start = 0; start < entries; start += (uint)batchSize)
        {
            int n = (int)Math.Min((uint)batchSize, entries - start);
            for (int i = 0; i < n; i++)
                BitConverter.TryWriteBytes(keys.AsSpan(i * sizeof(uint)), start + (uint)i);
            if (useBatch)
            {
                uint count = (uint)n;
                try
                {
                    BpfSyscall.MapUpdateBatch(_fd, keys.AsSpan(0, n * sizeof(uint)), zeroes.AsSpan(0, n * ValueBufferSize), ref count);
                    continue;
                }
                catch (BpfSyscallException e) when (start == 0 && e.ErrorNumber is Errno.EINVAL or Errno.ENOTSUPP or Errno.EOPNOTSUPP)
                {
                    useBatch = false;
                }
                catch (BpfSyscallException e)
                {
                    throw WithContext(e, null);
                }
            }
            for (int i = 0; i < n; i++)
            {
                try
                {
                    BpfSyscall.MapUpdate(_fd, keys.AsSpan(i * sizeof(uint), sizeof(uint)), zeroes.AsSpan(0, ValueBufferSize));
                }
                catch (BpfSyscallException e)
                {
                    throw WithContext(e, start + (uint)i);
                }
            }
        }
        return entries;
    }

    private BpfSyscallException WithContext(BpfSyscallException e, object? key) =>
        new(e.Command, e.ErrorNumber, key is null ? $"map '{Name}'" : $"map '{Name}', key {Show(key)}", e.Log);

    private object? DecodeKeyForMessage(byte[] key)
    {
        try
        {
            return DecodeKey(key);
        }
        catch (BpfFormatException)
        {
            return key;
        }
    }

    private static string Show(object? value)
    {
        var text = new System.Text.StringBuilder();
        Values.ValueEquality.Append(text, value);
        return text.ToString();
    }
}
