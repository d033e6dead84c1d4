namespace BpfPS.Core.Events;

/// <summary>
/// Several readers waited on together (one epoll set over all their descriptors), read in turn: how one loop follows
/// a ring buffer and a perf buffer at once. Owns the readers given to it and its own waiter.
/// </summary>
public sealed class EventStream : IDisposable
{
    private readonly EventReader[] _readers;
    private readonly EventWaiter _waiter = new();
    private int _disposed;

    /// <exception cref="ArgumentException">No readers.</exception>
    public EventStream(IEnumerable<EventReader> readers)
    {
        ArgumentNullException.ThrowIfNull(readers);
        _readers = [.. readers];
        if (_readers.Length == 0) throw new ArgumentException("an event stream needs at least one reader", nameof(readers));
        try
        {
            foreach (var reader in _readers)
                foreach (var fd in reader.WakeupDescriptors)
                    _waiter.Add(fd);
        }
        catch
        {
            _waiter.Dispose();
            throw;
        }
    }

    public IReadOnlyList<EventReader> Readers => _readers;

    /// <summary>Samples lost across all readers.</summary>
    public long LostSamples => _readers.Sum(r => r.LostSamples);

    /// <summary>
    /// Reads what is available from each reader in turn (up to <paramref name="maxRecords"/> in all); the handler is
    /// given the reader's index in <see cref="Readers"/>.
    /// </summary>
    public int Read(StreamRecordHandler handler, int maxRecords = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(handler);
        int total = 0;
        for (int i = 0; i < _readers.Length && total < maxRecords; i++)
        {
            int index = i;
            total += _readers[i].Read((record, cpu) => handler(index, record, cpu), maxRecords - total);
        }
        return total;
    }

    /// <summary>Waits until any reader may have records, the timeout passes or <see cref="Wake"/> is called.</summary>
    public WaitOutcome Wait(int timeoutMs) => _waiter.Wait(timeoutMs);

    /// <summary>Ends a blocked <see cref="Wait"/> from another thread (Ctrl+C, a cancellation).</summary>
    public void Wake() => _waiter.Wake();

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _waiter.Dispose();
        foreach (var reader in _readers) reader.Dispose();
    }
}

/// <summary>A record from the reader at <paramref name="readerIndex"/> in <see cref="EventStream.Readers"/>.</summary>
public delegate void StreamRecordHandler(int readerIndex, ReadOnlySpan<byte> record, int cpu);
