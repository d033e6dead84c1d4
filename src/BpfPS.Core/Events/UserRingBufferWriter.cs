using BpfPS.Core.Kernel;
using static BpfPS.Core.Events.RingBufferRecord;

namespace BpfPS.Core.Events;

/// <summary>
/// Writes records into a BPF_MAP_TYPE_USER_RINGBUF map for a program to drain with bpf_user_ringbuf_drain. The roles
/// are the ring buffer's reversed: the consumer page (the kernel's) is mapped read-only, the producer page and the data
/// read-write. A record is reserved (header written busy, producer position advanced with a release store), filled, then
/// submitted by clearing the busy bit with a release store, the protocol the kernel's drain expects.
/// </summary>
/// <remarks>Owns a duplicate of the map descriptor and the mappings. One writer per map at a time (the kernel does not arbitrate producers).</remarks>
public sealed unsafe class UserRingBufferWriter : IDisposable
{

    private readonly BpfFd _map;
    private readonly MappedRegion _consumer;
    private readonly MappedRegion _producer;
    private readonly ulong _mask;
    private int _disposed;

    /// <exception cref="BpfEventException">Not a user ring buffer, or the kernel refused a mapping.</exception>
    public UserRingBufferWriter(BpfFd map, string? name = null)
    {
        var info = BpfSyscall.GetMapInfo(map);
        MapInfo = info;
        MapName = EventReader.NameOf(info, name);
        if (info.Type != BpfMapType.UserRingbuf)
            throw EventReader.WrongType(info, name, "a user ring buffer (BPF_MAP_TYPE_USER_RINGBUF) map");
        string what = $"user ring buffer '{MapName}'";
        int page = Environment.SystemPageSize;
        DataSize = info.MaxEntries;
        _mask = DataSize - 1;
        _map = EventReader.Duplicate(map, what);
        try
        {
            _consumer = MappedRegion.Map(_map, (nuint)page, writable: false, 0, what);
            try
            {
                _producer = MappedRegion.Map(_map, (nuint)page + 2 * (nuint)DataSize, writable: true, page, what);
            }
            catch
            {
                _consumer.Dispose();
                throw;
            }
        }
        catch
        {
            _map.Dispose();
            throw;
        }
    }

    public BpfMapInfo MapInfo { get; }
    public string MapName { get; }

    /// <summary>Bytes of record space (max_entries).</summary>
    public uint DataSize { get; }

    /// <summary>The largest record one write can hold.</summary>
    public int MaxRecordSize => (int)DataSize - HeaderSize;

    /// <summary>Bytes written that the kernel has not drained yet.</summary>
    public long PendingBytes
    {
        get
        {
            using var use = new Use(this);
            return (long)(*ProducerPosition - Volatile.Read(ref *ConsumerPosition));
        }
    }

    private ulong* ConsumerPosition => (ulong*)_consumer.Pointer;
    private ulong* ProducerPosition => (ulong*)_producer.Pointer;
    private byte* Data => _producer.Pointer + Environment.SystemPageSize;

    /// <summary>Writes one record; false when the ring has no room for it now (a program must drain first).</summary>
    /// <exception cref="ArgumentException">The record is empty or larger than <see cref="MaxRecordSize"/>.</exception>
    public bool TryWrite(ReadOnlySpan<byte> record) => TryWrite(record, discard: false);

    /// <summary>Reserves room and publishes it discarded: the drain skips it (for tests of the kernel's handling).</summary>
    public bool TryWriteDiscarded(ReadOnlySpan<byte> record) => TryWrite(record, discard: true);

    private bool TryWrite(ReadOnlySpan<byte> record, bool discard)
    {
        if (record.Length == 0 || record.Length > MaxRecordSize)
            throw new ArgumentException($"user ring buffer '{MapName}': a record is 1 to {MaxRecordSize} bytes, not {record.Length}", nameof(record));
        using var use = new Use(this);
        ulong total = Footprint((ulong)record.Length);
        ulong consumer = Volatile.Read(ref *ConsumerPosition);
        ulong producer = *ProducerPosition;
        if (producer - consumer + total > DataSize) return false;
        byte* header = Data + (producer & _mask);
        // Reserve: a busy header, then the producer position moves past it (the kernel stops at a busy record).
        *(uint*)(header + 4) = 0;
        Volatile.Write(ref *(uint*)header, (uint)record.Length | BusyBit);
        Volatile.Write(ref *ProducerPosition, producer + total);
        record.CopyTo(new Span<byte>(header + HeaderSize, record.Length));
        // Submit: the length without the busy bit (or with the discard bit) published after the bytes.
        Volatile.Write(ref *(uint*)header, (uint)record.Length | (discard ? DiscardBit : 0));
        return true;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _producer.Dispose();
        _consumer.Dispose();
        _map.Dispose();
    }

    private readonly ref struct Use
    {
        private readonly UserRingBufferWriter _writer;

        public Use(UserRingBufferWriter writer)
        {
            if (Volatile.Read(ref writer._disposed) != 0) throw new ObjectDisposedException($"user ring buffer '{writer.MapName}'");
            bool a = false, b = false;
            try
            {
                writer._consumer.DangerousAddRef(ref a);
                writer._producer.DangerousAddRef(ref b);
            }
            catch
            {
                if (a) writer._consumer.DangerousRelease();
                throw;
            }
            _writer = writer;
        }

        public void Dispose()
        {
            _writer._producer.DangerousRelease();
            _writer._consumer.DangerousRelease();
        }
    }
}
