using System.Buffers.Binary;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>
/// Reads a BPF_MAP_TYPE_PERF_EVENT_ARRAY map: one PERF_COUNT_SW_BPF_OUTPUT perf event per online CPU, stored in the
/// array at that CPU's index, each with its own mmap ring. Records that wrap around the end of a ring are reassembled;
/// PERF_RECORD_LOST records are counted in <see cref="EventReader.LostSamples"/> (per CPU in <see cref="LostByCpu"/>).
/// </summary>
/// <remarks>
/// Owns the perf event descriptors, their mappings, a duplicate of the map descriptor and the epoll set. On Dispose
/// the array slots it filled are cleared (so programs stop writing into rings nobody reads) and everything is closed.
/// </remarks>
public sealed unsafe class PerfBufferReader : EventReader
{
    /// <summary>Data pages per CPU when none is given (32 KiB with 4 KiB pages).</summary>
    public const int DefaultPagesPerCpu = 8;

    private const uint PerfTypeSoftware = 1;
    private const ulong PerfCountSwBpfOutput = 10;
    private const ulong PerfSampleRaw = 1 << 10;
    private const int AttrSize = 128;
    private const uint PerfFlagFdCloexec = 8;
    private const ulong PerfEventIocEnable = 0x2400;
    private const uint PerfRecordLost = 2, PerfRecordSample = 9;
    // struct perf_event_mmap_page: data_head at 1024, data_tail at 1032 (uapi linux/perf_event.h).
    private const int DataHeadOffset = 1024, DataTailOffset = 1032;

    private readonly BpfFd _map;
    private readonly CpuRing[] _rings;
    private readonly EventWaiter _waiter;
    private readonly int _pageSize = Environment.SystemPageSize;
    private byte[] _scratch = new byte[256];
    private int _disposed;
    private int _next;

    /// <summary>Opens a reader on a perf event array map.</summary>
    /// <param name="map">The map (a duplicate of the descriptor is kept).</param>
    /// <param name="pagesPerCpu">Data pages per CPU ring: a power of two.</param>
    /// <param name="name">Name for messages.</param>
    /// <exception cref="BpfEventException">Not a perf event array, a bad page count, or perf_event_open / mmap refused.</exception>
    public PerfBufferReader(BpfFd map, int pagesPerCpu = DefaultPagesPerCpu, string? name = null)
        : this(map, BpfSyscall.GetMapInfo(map), pagesPerCpu, name) { }

    internal PerfBufferReader(BpfFd map, BpfMapInfo info, int pagesPerCpu, string? name) : base(info, NameOf(info, name))
    {
        if (info.Type != BpfMapType.PerfEventArray) throw WrongType(info, name, "a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY) map");
        if (pagesPerCpu <= 0 || (pagesPerCpu & (pagesPerCpu - 1)) != 0)
            throw new BpfEventException($"perf buffer '{MapName}': {pagesPerCpu} pages per CPU is not a power of two");
        string what = $"perf buffer '{MapName}'";
        PagesPerCpu = pagesPerCpu;
        var rings = new List<CpuRing>();
        try
        {
            _map = Duplicate(map, what);
            _waiter = new EventWaiter();
            Span<byte> key = stackalloc byte[4], value = stackalloc byte[4];
            foreach (int cpu in OnlineCpus())
            {
                if (cpu >= info.MaxEntries) break;
                var ring = OpenRing(cpu, what);
                rings.Add(ring);
                _waiter.Add(ring.Fd);
                BinaryPrimitives.WriteInt32LittleEndian(key, cpu);
                BinaryPrimitives.WriteInt32LittleEndian(value, ring.Fd.Value);
                BpfSyscall.MapUpdate(_map, key, value);
            }
            _rings = [.. rings];
            LostByCpu = new long[_rings.Length == 0 ? 0 : _rings[^1].Cpu + 1];
        }
        catch
        {
            foreach (var ring in rings) ring.Dispose();
            ClearSlots(rings);
            _waiter?.Dispose();
            _map?.Dispose();
            throw;
        }
    }

    /// <summary>Data pages in each CPU's ring.</summary>
    public int PagesPerCpu { get; }

    /// <summary>The CPUs with a ring, in order.</summary>
    public IReadOnlyList<int> Cpus => Array.ConvertAll(_rings, r => r.Cpu);

    /// <summary>Lost samples per CPU (index = CPU number).</summary>
    public long[] LostByCpu { get; }

    public override int Read(EventRecordHandler handler, int maxRecords = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(ToString());
        int count = 0;
        // Round-robin start, so one busy CPU cannot starve the others when maxRecords is small.
        for (int i = 0; i < _rings.Length && count < maxRecords; i++)
        {
            var ring = _rings[(_next + i) % _rings.Length];
            count += ReadRing(ring, handler, maxRecords - count);
        }
        _next = (_next + 1) % Math.Max(1, _rings.Length);
        return count;
    }

    private int ReadRing(CpuRing ring, EventRecordHandler handler, int maxRecords)
    {
        bool added = false;
        ring.Region.DangerousAddRef(ref added);
        try
        {
            byte* page = ring.Region.Pointer;
            byte* data = page + _pageSize;
            ulong size = (ulong)PagesPerCpu * (ulong)_pageSize;
            ulong head = Volatile.Read(ref *(ulong*)(page + DataHeadOffset));
            ulong tail = *(ulong*)(page + DataTailOffset);
            int count = 0;
            while (tail < head && count < maxRecords)
            {
                ulong offset = tail % size;
                // Records are 8-byte aligned, so the 8-byte header itself never wraps.
                uint type = *(uint*)(data + offset);
                ushort recordSize = *(ushort*)(data + offset + 6);
                if (recordSize < 8) break;   // corrupt ring: stop rather than spin
                ReadOnlySpan<byte> record;
                if (offset + recordSize <= size)
                    record = new ReadOnlySpan<byte>(data + offset, recordSize);
                else
                {
                    // Wrapped: the end of the ring, then its start, reassembled into one buffer.
                    if (_scratch.Length < recordSize) _scratch = new byte[Math.Max(recordSize, _scratch.Length * 2)];
                    int first = (int)(size - offset);
                    new ReadOnlySpan<byte>(data + offset, first).CopyTo(_scratch);
                    new ReadOnlySpan<byte>(data, recordSize - first).CopyTo(_scratch.AsSpan(first));
                    record = _scratch.AsSpan(0, recordSize);
                    WrappedRecords++;
                }
                if (type == PerfRecordSample && record.Length >= 12)
                {
                    uint rawSize = BinaryPrimitives.ReadUInt32LittleEndian(record[8..]);
                    int available = Math.Min((int)rawSize, record.Length - 12);
                    handler(record.Slice(12, available), ring.Cpu);
                    count++;
                    RecordsRead++;
                }
                else if (type == PerfRecordLost && record.Length >= 24)
                {
                    long lost = (long)BinaryPrimitives.ReadUInt64LittleEndian(record[16..]);
                    LostSamples += lost;
                    LostByCpu[ring.Cpu] += lost;
                }
                tail += recordSize;
                Volatile.Write(ref *(ulong*)(page + DataTailOffset), tail);
            }
            return count;
        }
        finally
        {
            if (added) ring.Region.DangerousRelease();
        }
    }

    /// <summary>Records that straddled the end of a ring and were reassembled.</summary>
    public long WrappedRecords { get; private set; }

    /// <summary>Waits until a ring may hold records, the timeout passes or <see cref="Wake"/> / Dispose is called.</summary>
    public WaitOutcome Wait(int timeoutMs) => _waiter.Wait(timeoutMs);

    /// <summary>Ends a blocked <see cref="Wait"/> from another thread.</summary>
    public void Wake() => _waiter.Wake();

    internal override IEnumerable<BpfFd> WakeupDescriptors => _rings.Select(r => r.Fd);

    public override void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _waiter.Dispose();
        ClearSlots(_rings);
        foreach (var ring in _rings) ring.Dispose();
        _map.Dispose();
    }

    private void ClearSlots(IEnumerable<CpuRing> rings)
    {
        if (_map is null || _map.IsClosed) return;
        Span<byte> key = stackalloc byte[4];
        foreach (var ring in rings)
        {
            BinaryPrimitives.WriteInt32LittleEndian(key, ring.Cpu);
            try { BpfSyscall.MapDelete(_map, key); }
            catch (BpfSyscallException) { /* the slot is gone with the event anyway once its fd closes */ }
        }
    }

    private CpuRing OpenRing(int cpu, string what)
    {
        byte* attr = stackalloc byte[AttrSize];
        new Span<byte>(attr, AttrSize).Clear();
        *(uint*)attr = PerfTypeSoftware;
        *(uint*)(attr + 4) = AttrSize;
        *(ulong*)(attr + 8) = PerfCountSwBpfOutput;
        *(ulong*)(attr + 16) = 1;                 // sample_period: every output is a sample
        *(ulong*)(attr + 24) = PerfSampleRaw;     // sample_type
        *(uint*)(attr + 48) = 1;                  // wakeup_events: wake the reader on every sample
        long fd = NativeMethods.Syscall5(NativeMethods.SysPerfEventOpen, attr, -1, cpu, -1, PerfFlagFdCloexec);
        if (fd < 0)
        {
            int errno = EventNative.LastError;
            throw new BpfEventException($"{what}: perf_event_open(PERF_COUNT_SW_BPF_OUTPUT, cpu {cpu}) failed: {Errno.Describe(errno)}", errno);
        }
        var perf = new BpfFd((int)fd);
        try
        {
            var region = MappedRegion.Map(perf, (nuint)((1 + PagesPerCpu) * _pageSize), writable: true, 0, $"{what} cpu {cpu}");
            if (NativeMethods.Ioctl((int)fd, PerfEventIocEnable, 0) < 0)
            {
                int errno = EventNative.LastError;
                region.Dispose();
                throw new BpfEventException($"{what}: enabling the perf event on cpu {cpu} failed: {Errno.Describe(errno)}", errno);
            }
            return new CpuRing(cpu, perf, region);
        }
        catch
        {
            perf.Dispose();
            throw;
        }
    }

    /// <summary>CPUs that are online now (/sys/devices/system/cpu/online): perf events cannot be opened on offline ones.</summary>
    private static IEnumerable<int> OnlineCpus()
    {
        string list = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        foreach (var part in list.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-');
            int first = int.Parse(dash < 0 ? part : part[..dash]);
            int last = dash < 0 ? first : int.Parse(part[(dash + 1)..]);
            for (int cpu = first; cpu <= last; cpu++) yield return cpu;
        }
    }

    private sealed class CpuRing(int cpu, BpfFd fd, MappedRegion region) : IDisposable
    {
        public int Cpu { get; } = cpu;
        public BpfFd Fd { get; } = fd;
        public MappedRegion Region { get; } = region;

        public void Dispose()
        {
            Region.Dispose();
            Fd.Dispose();
        }
    }
}
