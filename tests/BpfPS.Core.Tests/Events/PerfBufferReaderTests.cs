using BpfPS.Core.Events;
using BpfPS.Core.Kernel;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Events;

/// <summary>The perf buffer reader against the events.c fixture's perf event array, filled by test runs.</summary>
[Collection(EventFixture.TestCollection)]
public class PerfBufferReaderTests
{
    [SkippableFact]
    public void SamplesArriveWithTheirCpuAndDecode()
    {
        using var collection = EventFixture.Load();
        using var reader = new PerfBufferReader(collection.Maps["perf_events"].Fd);
        Assert.NotEmpty(reader.Cpus);
        EventFixture.Run(collection, "perf_emit", EventFixture.ModeFull, 42, times: 3);

        var decoder = EventDecoder.ForType(collection.Spec.Btf!, "event", EventDecoder.PerfPadding(EventFixture.EventSize));
        var seen = new List<(BtfRecord Value, int Cpu, int Length)>();
        Assert.Equal(WaitOutcome.Ready, reader.Wait(1000));
        reader.Read((record, cpu) => seen.Add(((BtfRecord)decoder.Decode(record)!, cpu, record.Length)));
        Assert.Equal(3, seen.Count);
        Assert.Equal([0u, 1u, 2u], seen.Select(s => (uint)s.Value["seq"]!).Order());
        Assert.All(seen, s => Assert.Equal(42u, s.Value["marker"]));
        Assert.All(seen, s => Assert.Contains(s.Cpu, reader.Cpus));
        // 64 bytes + the 4-byte size word, padded to 8: 4 bytes of padding come with each sample.
        Assert.All(seen, s => Assert.Equal(68, s.Length));
        Assert.Equal(0, reader.LostSamples);
    }

    [SkippableFact]
    public void RecordsThatWrapAroundTheRingAreReassembled()
    {
        using var collection = EventFixture.Load();
        using var reader = new PerfBufferReader(collection.Maps["perf_events"].Fd, pagesPerCpu: 1);
        // 200-byte samples (216 with headers) never line up with a 4 KiB ring: reading as we go, many straddle its end.
        var markers = new List<uint>();
        for (uint round = 0; round < 60; round++)
        {
            EventFixture.Run(collection, "perf_emit", mode: 9, marker: round, length: 200);
            reader.Read((record, _) =>
            {
                Assert.Equal(204, record.Length);   // 200 + padding to 8 with the size word
                markers.Add(EventFixture.Marker(record));
            });
        }
        Assert.Equal(Enumerable.Range(0, 60).Select(i => (uint)i), markers);
        Assert.True(reader.WrappedRecords > 0, "some records straddled the end of the ring");
        Assert.Equal(0, reader.LostSamples);
    }

    [SkippableFact]
    public void SamplesThatDoNotFitAreCountedAsLost()
    {
        using var collection = EventFixture.Load();
        using var reader = new PerfBufferReader(collection.Maps["perf_events"].Fd, pagesPerCpu: 1);
        // Both test runs must write to the same CPU's ring (the lost count comes with that ring's next sample), so this
        // thread stays on one CPU until the end.
        using var pinned = CpuPin.To(reader.Cpus[0]);
        // 100 samples of 216 bytes into a 4 KiB ring nobody drains: 18 fit, the kernel drops the rest and says how many.
        EventFixture.Run(collection, "perf_emit", mode: 9, marker: 5, length: 200, times: 100);
        int read = 0;
        reader.Read((_, _) => read++);
        Assert.InRange(read, 1, 99);
        // The kernel writes its PERF_RECORD_LOST before the next sample that fits, so the count comes with that sample.
        EventFixture.Run(collection, "perf_emit", mode: 9, marker: 6, length: 200);
        var after = new List<uint>();
        reader.Read((record, _) => after.Add(EventFixture.Marker(record)));
        Assert.Equal([6u], after);
        Assert.Equal(100 - read, reader.LostSamples);
        Assert.Equal(reader.LostSamples, reader.LostByCpu.Sum());
    }

    [SkippableFact]
    public void DisposeClearsTheArraySlotsAndClosesEveryDescriptor()
    {
        using var collection = EventFixture.Load();
        var map = collection.Maps["perf_events"];
        int before = KernelTestSupport.OpenFdCount();
        var reader = new PerfBufferReader(map.Fd);
        int cpu = reader.Cpus[0];
        var key = BitConverter.GetBytes(cpu);
        Assert.Equal(before + 3 + reader.Cpus.Count, KernelTestSupport.OpenFdCount());   // map copy, epoll, eventfd, one perf event per CPU
        var waiting = new BlockedCall<WaitOutcome>(() => reader.Wait(-1));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        reader.Dispose();
        Assert.True(waiting.Wait(1000), "the wait ended");
        Assert.True(watch.ElapsedMilliseconds < 100, $"stopped after {watch.ElapsedMilliseconds} ms");
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
        // A perf event array lookup from user space is refused; the slot's absence shows in delete.
        Assert.False(BpfSyscall.MapDelete(map.Fd, key));
    }
}

/// <summary>Keeps the calling thread on one CPU (sched_setaffinity) until disposed, then restores its CPU mask.</summary>
internal sealed class CpuPin : IDisposable
{
    private readonly ulong[] _previous = new ulong[16];

    private CpuPin(int cpu)
    {
        if (GetAffinity(0, _previous.Length * 8, _previous) != 0) throw new InvalidOperationException("sched_getaffinity failed");
        var mask = new ulong[_previous.Length];
        mask[cpu / 64] = 1UL << (cpu % 64);
        if (SetAffinity(0, mask.Length * 8, mask) != 0) throw new InvalidOperationException($"sched_setaffinity to CPU {cpu} failed");
    }

    public static CpuPin To(int cpu) => new(cpu);

    public void Dispose() => SetAffinity(0, _previous.Length * 8, _previous);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sched_getaffinity", SetLastError = true)]
    private static extern int GetAffinity(int pid, nint size, ulong[] mask);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static extern int SetAffinity(int pid, nint size, ulong[] mask);
}
