using System.Diagnostics;
using System.Management.Automation;
using BpfPS.Core.Events;
using BpfPS.Core.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Cmdlets;

/// <summary>
/// Receive-BpfEvent: streams the records BPF programs send through ring buffer and perf event array maps, as they
/// arrive, decoded through BTF with -Type into instances of a class generated for the struct (BpfPS.Records.event:
/// one typed property per member; raw bytes without -Type), until -First, -Timeout, -Duration or
/// Ctrl+C. Several maps are read at once. The readers own their descriptors, so this works from a thread job too.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "BpfEvent")]
[OutputType(typeof(PSObject), typeof(BpfEventRecord))]   // records: generated classes, shown by their own properties (no fixed view)
public sealed class ReceiveBpfEventCommand : PSCmdlet, IDisposable
{
    private readonly List<object> _maps = [];
    private volatile EventStream? _stream;
    private volatile bool _stopping;

    /// <summary>
    /// Ring buffer or perf event array maps: loaded maps ($collection.Maps.events), maps from Get-BpfMap, map ids, pin
    /// paths or names of loaded maps. Several are read together.
    /// </summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object[]? Map { get; set; }

    /// <summary>The struct (or union, or typedef) of the records, by name in the object's BTF; without it, raw records.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Type { get; set; }

    /// <summary>Stop after this many records.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; }

    /// <summary>Stop when no record arrived for this many seconds.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double Timeout { get; set; } = -1;

    /// <summary>Stop after this many seconds in all.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double Duration { get; set; } = -1;

    /// <summary>Bytes of ring per CPU for perf event array maps (rounded up to a power-of-two number of pages; default 32 KiB).</summary>
    [Parameter]
    [ValidateRange(1, 1 << 30)]
    public int PerCpuBufferSize { get; set; }

    /// <summary>Members of the record holding kernel nanosecond stamps, returned as local DateTimes (with -Type).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? TimeField { get; set; }

    /// <summary>The clock of the -TimeField stamps: Monotonic (bpf_ktime_get_ns, the default) or Boot (bpf_ktime_get_boot_ns).</summary>
    [Parameter]
    public KernelClockKind Clock { get; set; } = KernelClockKind.Monotonic;

    protected override void ProcessRecord()
    {
        foreach (var map in Map!) _maps.Add(map);
    }

    protected override void EndProcessing()
    {
        var sources = Open();
        if (sources is null) return;
        var (stream, decoders, names) = sources.Value;
        _stream = stream;
        try
        {
            if (_stopping) return;
            // From here on every record sent is kept for this reader: -Verbose says so (scripts can wait for it).
            WriteVerbose($"Reading {string.Join(", ", names.Select(n => n.Item1))}.");
            Run(stream, decoders, names);
        }
        finally
        {
            _stream = null;
            long lost = stream.LostSamples, read = stream.Readers.Sum(r => r.RecordsRead);
            stream.Dispose();
            WriteVerbose($"{read} records read, {lost} lost.");
            if (lost > 0 && !_stopping) WriteWarning($"In all {lost} samples were lost: the perf buffers were full (a larger -PerCpuBufferSize or a ring buffer map helps).");
        }
    }

    /// <summary>Ends a blocked wait at once (the reader's eventfd), so Ctrl+C stops within milliseconds.</summary>
    protected override void StopProcessing()
    {
        _stopping = true;
        _stream?.Wake();
    }

    private void Run(EventStream stream, EventDecoder?[] decoders, (string Name, uint Id)[] names)
    {
        long startTicks = Stopwatch.GetTimestamp();
        long durationMs = Duration < 0 ? -1 : (long)(Duration * 1000);
        long idleMs = Timeout < 0 ? -1 : (long)(Timeout * 1000);
        long lastRecord = Environment.TickCount64;
        long reportedLost = 0;
        int limit = First > 0 ? First : int.MaxValue, written = 0;
        var clock = TimeField is { Length: > 0 } ? new KernelClock(Clock) : null;
        Func<ulong, DateTime>? toTime = clock is null ? null : clock.ToLocal;
        // Records become instances of a class generated for their struct (typed properties, far cheaper in a pipeline
        // than note properties); a struct without one (member names differing only in case) keeps the decoded record.
        var recordTypes = Array.ConvertAll(decoders, d => d is null ? null : RecordTypes.For(d.Spec, d.TypeId, TimeField));

        void Handle(int index, ReadOnlySpan<byte> record, int cpu)
        {
            var decoder = decoders[index];
            if (decoder is null)
            {
                WriteObject(new BpfEventRecord(names[index].Name, names[index].Id, cpu, record.ToArray()));
                written++;
                return;
            }
            object? decoded;
            try
            {
                decoded = decoder.Decode(record, recordTypes[index], toTime);
            }
            catch (Exception e) when (e is EventRecordTooLongException or BpfPS.Core.BpfFormatException)
            {
                WriteError(EventErrors.From(e, new BpfEventRecord(names[index].Name, names[index].Id, cpu, record.ToArray())));
                return;
            }
            if (decoded is RecordObject typed)
            {
                WriteObject(typed);
                written++;
                return;
            }
            var value = PowerShellValues.ToPowerShell(decoded);
            if (clock is not null && value is PSObject shaped)
                foreach (var field in TimeField!)
                    if (shaped.Properties[field] is { Value: ulong stamp } property)
                        property.Value = clock.ToLocal(stamp);
            WriteObject(value);
            written++;
        }

        // -First counts records written: one refused with an error does not count.
        while (!_stopping && written < limit)
        {
            int read = stream.Read(Handle, limit - written);
            long lost = stream.LostSamples;
            if (lost > reportedLost)
            {
                WriteWarning($"{lost - reportedLost} samples lost ({lost} in all): the perf buffer was full.");
                reportedLost = lost;
            }
            long now = Environment.TickCount64;
            if (read > 0) lastRecord = now;
            if (written >= limit) break;
            long elapsed = (long)Stopwatch.GetElapsedTime(startTicks).TotalMilliseconds;
            long wait = -1;
            if (durationMs >= 0) wait = Math.Max(0, durationMs - elapsed);
            if (idleMs >= 0) wait = wait < 0 ? Math.Max(0, idleMs - (now - lastRecord)) : Math.Min(wait, Math.Max(0, idleMs - (now - lastRecord)));
            if (read > 0) continue;   // drain before sleeping
            if (wait == 0) break;
            var outcome = stream.Wait((int)Math.Min(wait, int.MaxValue));
            if (outcome == WaitOutcome.Woken) break;
            if (outcome == WaitOutcome.TimedOut && wait >= 0)
            {
                // A timed-out wait ends the stream only when a limit is really reached (epoll may return a little early).
                elapsed = (long)Stopwatch.GetElapsedTime(startTicks).TotalMilliseconds;
                now = Environment.TickCount64;
                if ((durationMs >= 0 && elapsed >= durationMs) || (idleMs >= 0 && now - lastRecord >= idleMs))
                {
                    if (written < limit) stream.Read(Handle, limit - written);   // what arrived at the last moment
                    break;
                }
            }
        }
    }

    private (EventStream Stream, EventDecoder?[] Decoders, (string, uint)[] Names)? Open()
    {
        var readers = new List<EventReader>();
        var decoders = new List<EventDecoder?>();
        var names = new List<(string, uint)>();
        int pages = PerCpuBufferSize > 0 ? PagesFor(PerCpuBufferSize) : PerfBufferReader.DefaultPagesPerCpu;
        try
        {
            foreach (var argument in _maps)
            {
                var target = KernelObjectArguments.Unwrap(argument);
                EventReader reader;
                try
                {
                    using var handle = KernelObjectArguments.Map(this, target);
                    reader = EventReader.Open(handle.Fd, pages, handle.Name);
                }
                catch (Exception e) when (KernelObjectErrors.IsFailure(e))
                {
                    WriteError(EventErrors.From(e, target));
                    continue;
                }
                readers.Add(reader);
                names.Add((reader.MapName, reader.MapInfo.Id));
                if (Type is null)
                {
                    decoders.Add(null);
                    continue;
                }
                var btf = EventBtfLookup.For(target, reader.MapInfo.Id);
                if (btf is null)
                {
                    ThrowTerminatingError(EventErrors.NoBtf(reader.MapName));
                }
                try
                {
                    int slack = reader is PerfBufferReader ? -1 : 0;
                    uint typeId = EventDecoder.FindType(btf!, Type);
                    var size = (int)btf!.SizeOf(typeId);
                    decoders.Add(new EventDecoder(btf, typeId, slack < 0 ? EventDecoder.PerfPadding(size) : 0));
                }
                catch (ArgumentException e)
                {
                    ThrowTerminatingError(EventErrors.TypeNotFound(e, Type));
                }
            }
            if (readers.Count == 0) return null;
            var stream = new EventStream(readers);
            return (stream, decoders.ToArray(), names.ToArray());
        }
        catch
        {
            foreach (var reader in readers) reader.Dispose();
            throw;
        }
    }

    private static int PagesFor(int bytes)
    {
        int page = Environment.SystemPageSize;
        int pages = (bytes + page - 1) / page;
        return (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, pages));
    }

    public void Dispose() => _stream?.Dispose();
}
