using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>
/// Receives one record. <paramref name="record"/> points into the kernel's buffer (or a reassembly copy) and is valid
/// only during the call: copy what must outlive it. <paramref name="cpu"/> is the CPU a perf record came from, -1 for
/// ring buffer records.
/// </summary>
public delegate void EventRecordHandler(ReadOnlySpan<byte> record, int cpu);

/// <summary>
/// What ring buffer and perf buffer readers share: the map read, records handed on in order, lost-sample counts, and
/// the descriptors that become readable when records arrive (for <see cref="EventStream"/>, which waits on many).
/// </summary>
public abstract class EventReader : IDisposable
{
    private protected EventReader(BpfMapInfo info, string name)
    {
        MapInfo = info;
        MapName = name;
    }

    /// <summary>The map's kernel description (type, id, size).</summary>
    public BpfMapInfo MapInfo { get; }

    /// <summary>The map's name for messages.</summary>
    public string MapName { get; }

    /// <summary>Samples the kernel dropped because the buffer was full (perf: PERF_RECORD_LOST totals; ring buffer: always 0, the producer sees the failure).</summary>
    public long LostSamples { get; private protected set; }

    /// <summary>Records handed on since the reader was opened.</summary>
    public long RecordsRead { get; private protected set; }

    /// <summary>
    /// Hands every record available now (up to <paramref name="maxRecords"/>) to <paramref name="handler"/>, in order,
    /// and returns how many. A record counts as consumed only once the handler returned: if it throws, that record is
    /// read again by the next call.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The reader was closed.</exception>
    public abstract int Read(EventRecordHandler handler, int maxRecords = int.MaxValue);

    /// <summary>Descriptors that poll readable when records arrive.</summary>
    internal abstract IEnumerable<BpfFd> WakeupDescriptors { get; }

    public abstract void Dispose();

    public override string ToString() => $"{GetType().Name} over {MapInfo.Type} map '{MapName}' (id {MapInfo.Id})";

    /// <summary>Opens the right reader for the map's type: ring buffer or perf event array.</summary>
    /// <param name="map">The map (not taken over: the reader keeps its own duplicate).</param>
    /// <param name="perCpuBufferPages">Data pages per CPU for perf buffers (a power of two).</param>
    /// <param name="name">Name for messages (default: the kernel's name).</param>
    /// <exception cref="BpfEventException">The map is neither a ring buffer nor a perf event array, or the kernel refused the setup.</exception>
    public static EventReader Open(BpfFd map, int perCpuBufferPages = PerfBufferReader.DefaultPagesPerCpu, string? name = null)
    {
        var info = BpfSyscall.GetMapInfo(map);
        return info.Type switch
        {
            BpfMapType.Ringbuf => new RingBufferReader(map, info, name),
            BpfMapType.PerfEventArray => new PerfBufferReader(map, info, perCpuBufferPages, name),
            _ => throw WrongType(info, name, "a ring buffer or perf event array map"),
        };
    }

    internal static BpfEventException WrongType(BpfMapInfo info, string? name, string wanted) =>
        new($"map '{NameOf(info, name)}' (id {info.Id}) is a {info.Type} map, not {wanted}");

    internal static string NameOf(BpfMapInfo info, string? name) =>
        !string.IsNullOrEmpty(name) ? name : info.Name.Length > 0 ? info.Name : $"id {info.Id}";

    /// <summary>A descriptor of our own for the same map, so the caller may close theirs while we read.</summary>
    internal static BpfFd Duplicate(BpfFd fd, string what)
    {
        using var lease = fd.Lease();
        int copy = EventNative.Fcntl(lease.Value, EventNative.FDupfdCloexec, 3);
        if (copy < 0)
        {
            int errno = EventNative.LastError;
            throw new BpfEventException($"{what}: cannot duplicate the map descriptor: {Errno.Describe(errno)}", errno);
        }
        return new BpfFd(copy);
    }
}
