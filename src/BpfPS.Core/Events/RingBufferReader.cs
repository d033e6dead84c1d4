using BpfPS.Core.Kernel;
using static BpfPS.Core.Events.RingBufferRecord;

namespace BpfPS.Core.Events;

/// <summary>
/// Reads a BPF_MAP_TYPE_RINGBUF map: the consumer page mapped read-write, the producer page and the data (mapped twice
/// in a row by the kernel, so a record never wraps) read-only; records in order, busy ones waited for, discarded ones
/// skipped, the consumer position published (release store) after each record was handed on.
/// </summary>
/// <remarks>Owns a duplicate of the map descriptor, the mappings and its epoll set. Not for concurrent readers.</remarks>
public sealed unsafe class RingBufferReader : EventReader
{

    private readonly BpfFd _map;
    private readonly MappedRegion _consumer;
    private readonly MappedRegion _producer;
    private readonly EventWaiter _waiter;
    private readonly ulong _mask;
    private int _disposed;

    /// <summary>Opens a reader on a ring buffer map.</summary>
    /// <exception cref="BpfEventException">The map is not a ring buffer, or the kernel refused a mapping.</exception>
    public RingBufferReader(BpfFd map, string? name = null) : this(map, BpfSyscall.GetMapInfo(map), name) { }

    internal RingBufferReader(BpfFd map, BpfMapInfo info, string? name) : base(info, NameOf(info, name))
    {
        if (info.Type != BpfMapType.Ringbuf) throw WrongType(info, name, "a ring buffer (BPF_MAP_TYPE_RINGBUF) map");
        int page = Environment.SystemPageSize;
        DataSize = info.MaxEntries;
        _mask = DataSize - 1;
        string what = $"ring buffer '{MapName}'";
        var owned = new List<IDisposable>();
        try
        {
            _map = Duplicate(map, what);
            owned.Add(_map);
            _consumer = MappedRegion.Map(_map, (nuint)page, writable: true, 0, what);
            owned.Add(_consumer);
            _producer = MappedRegion.Map(_map, (nuint)page + 2 * (nuint)DataSize, writable: false, page, what);
            owned.Add(_producer);
            _waiter = new EventWaiter();
            owned.Add(_waiter);
            _waiter.Add(_map);
        }
        catch
        {
            foreach (var item in owned) item.Dispose();
            throw;
        }
    }

    /// <summary>Bytes of record space (the map's max_entries).</summary>
    public uint DataSize { get; }

    /// <summary>Bytes the producer has written that this reader has not consumed yet.</summary>
    public long PendingBytes
    {
        get
        {
            using var use = new Use(this);
            return (long)(Volatile.Read(ref *ProducerPosition) - Volatile.Read(ref *ConsumerPosition));
        }
    }

    private ulong* ConsumerPosition => (ulong*)_consumer.Pointer;
    private ulong* ProducerPosition => (ulong*)_producer.Pointer;
    private byte* Data => _producer.Pointer + Environment.SystemPageSize;

    public override int Read(EventRecordHandler handler, int maxRecords = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(handler);
        using var use = new Use(this);
        int count = 0;
        ulong consumer = Volatile.Read(ref *ConsumerPosition);
        while (count < maxRecords)
        {
            ulong producer = Volatile.Read(ref *ProducerPosition);
            if (consumer >= producer) break;
            byte* header = Data + (consumer & _mask);
            uint length = Volatile.Read(ref *(uint*)header);
            // Still being written: it and everything after it must wait (records are consumed in order).
            if ((length & BusyBit) != 0) break;
            uint size = length & ~(BusyBit | DiscardBit);
            ulong next = consumer + Footprint(size);
            if ((length & DiscardBit) == 0)
            {
                handler(new ReadOnlySpan<byte>(header + HeaderSize, (int)size), -1);
                count++;
                RecordsRead++;
            }
            consumer = next;
            Volatile.Write(ref *ConsumerPosition, consumer);
        }
        return count;
    }

    /// <summary>Reads one record into a new array, or null when none is ready (a convenience for tests and scripts).</summary>
    public byte[]? ReadOne()
    {
        byte[]? copy = null;
        Read((record, _) => copy = record.ToArray(), 1);
        return copy;
    }

    /// <summary>Waits until records may be ready, the timeout passes or <see cref="Wake"/> / Dispose is called.</summary>
    public WaitOutcome Wait(int timeoutMs) => _waiter.Wait(timeoutMs);

    /// <summary>Ends a blocked <see cref="Wait"/> from another thread.</summary>
    public void Wake() => _waiter.Wake();

    internal override IEnumerable<BpfFd> WakeupDescriptors => [_map];

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _waiter.Dispose();
        _producer.Dispose();
        _consumer.Dispose();
        _map.Dispose();
    }

    /// <summary>Holds both mappings for the duration of one access, so a concurrent Dispose cannot unmap them mid-read.</summary>
    private readonly ref struct Use
    {
        private readonly RingBufferReader _reader;

        public Use(RingBufferReader reader)
        {
            if (Volatile.Read(ref reader._disposed) != 0) throw new ObjectDisposedException(reader.ToString());
            bool a = false, b = false;
            try
            {
                reader._consumer.DangerousAddRef(ref a);
                reader._producer.DangerousAddRef(ref b);
            }
            catch
            {
                if (a) reader._consumer.DangerousRelease();
                throw;
            }
            _reader = reader;
        }

        public void Dispose()
        {
            _reader._producer.DangerousRelease();
            _reader._consumer.DangerousRelease();
        }
    }
}
