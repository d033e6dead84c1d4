using System.Diagnostics;
using BpfPS.Core.Events;
using BpfPS.Core.Kernel;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Events;

/// <summary>The ring buffer reader against the events.c fixture's ring buffer, filled by test runs.</summary>
[Collection(EventFixture.TestCollection)]
public class RingBufferReaderTests
{
    [SkippableFact]
    public void RecordsComeInOrderAndDiscardedOnesAreSkipped()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 10, times: 3);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeDiscard, 11, times: 2);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 12, times: 2);

        var seen = new List<(uint Seq, uint Marker, int Length, int Cpu)>();
        int read = reader.Read((record, cpu) => seen.Add((EventFixture.Seq(record), EventFixture.Marker(record), record.Length, cpu)));

        Assert.Equal(5, read);
        Assert.Equal([0u, 1u, 2u, 5u, 6u], seen.Select(s => s.Seq));       // seq 3 and 4 were discarded
        Assert.Equal([10u, 10u, 10u, 12u, 12u], seen.Select(s => s.Marker));
        Assert.All(seen, s => Assert.Equal(EventFixture.EventSize, s.Length));
        Assert.All(seen, s => Assert.Equal(-1, s.Cpu));
        Assert.Equal(0, reader.PendingBytes);
        Assert.Equal(0, reader.Read((_, _) => Assert.Fail("nothing is left")));
    }

    [SkippableFact]
    public void AThrowingHandlerLeavesItsRecordUnconsumed()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 1, times: 2);

        int calls = 0;
        Assert.Throws<InvalidOperationException>(() => reader.Read((record, _) =>
        {
            if (++calls == 2) throw new InvalidOperationException("stop");
        }));
        // The first record was consumed, the second (whose handler threw) is read again.
        var again = reader.ReadOne();
        Assert.NotNull(again);
        Assert.Equal(1u, EventFixture.Seq(again));
        Assert.Null(reader.ReadOne());
    }

    [SkippableFact]
    public void WaitReportsReadyTimeoutAndWake()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        Assert.Equal(WaitOutcome.TimedOut, reader.Wait(20));
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 1);
        Assert.Equal(WaitOutcome.Ready, reader.Wait(1000));
        Assert.NotNull(reader.ReadOne());

        var waiting = new BlockedCall<WaitOutcome>(() => reader.Wait(-1));
        reader.Wake();
        Assert.True(waiting.Wait(1000), "Wake ends a wait without a timeout");
        Assert.Equal(WaitOutcome.Woken, waiting.Result);
    }

    [SkippableFact]
    public void DisposeFromAnotherThreadEndsABlockedWaitWithin100MsAndClosesEveryDescriptor()
    {
        using var collection = EventFixture.Load();
        int before = KernelTestSupport.OpenFdCount();
        var reader = new RingBufferReader(collection.Maps["events"].Fd);
        Assert.True(KernelTestSupport.OpenFdCount() > before, "the reader holds descriptors of its own");
        var waiting = new BlockedCall<WaitOutcome>(() => reader.Wait(-1));
        var watch = Stopwatch.StartNew();
        reader.Dispose();
        Assert.True(waiting.Wait(1000), "the wait ended");
        Assert.True(watch.ElapsedMilliseconds < 100, $"stopped after {watch.ElapsedMilliseconds} ms");
        Assert.Equal(WaitOutcome.Woken, waiting.Result);
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
        Assert.Throws<ObjectDisposedException>(() => reader.Read((_, _) => { }));
    }

    [SkippableFact]
    public void MapClosedUnderTheReaderKeepsWhatItHolds()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 7, times: 2);
        collection.Dispose();   // closes the map's and the programs' descriptors

        // The reader's own descriptor and mappings keep the ring alive: what was sent is still read, then the wait times out.
        var markers = new List<uint>();
        reader.Read((record, _) => markers.Add(EventFixture.Marker(record)));
        Assert.Equal([7u, 7u], markers);
        Assert.Equal(WaitOutcome.TimedOut, reader.Wait(10));
    }

    [SkippableFact]
    public void WrongMapTypeIsRefusedNamingTheMap()
    {
        using var collection = EventFixture.Load();
        int before = KernelTestSupport.OpenFdCount();
        var e = Assert.Throws<BpfEventException>(() => new RingBufferReader(collection.Maps["drained"].Fd));
        Assert.Contains("'drained'", e.Message);
        Assert.Contains("Array", e.Message);
        var perf = Assert.Throws<BpfEventException>(() => new PerfBufferReader(collection.Maps["events"].Fd));
        Assert.Contains("Ringbuf", perf.Message);
        Assert.Throws<BpfEventException>(() => EventReader.Open(collection.Maps["user_events"].Fd));
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
    }

    [SkippableFact]
    public void RecordsDecodeThroughBtfIncludingShortOnes()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        var decoder = EventDecoder.ForType(collection.Spec.Btf!, "event");
        Assert.Equal(EventFixture.EventSize, decoder.Size);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 100);
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeShort, 200);

        var decoded = new List<BtfRecord>();
        reader.Read((record, _) => decoded.Add(Assert.IsType<BtfRecord>(decoder.Decode(record))));
        Assert.Equal(2, decoded.Count);

        var full = decoded[0];
        Assert.Equal(0u, full["seq"]);
        Assert.Equal(100u, full["marker"]);
        Assert.Equal("bpfps-events", full["comm"]);
        Assert.IsType<ulong>(full["stamp"]);
        Assert.Equal(Enumerable.Range(100, 8).Select(i => (object?)(uint)i), (object?[])full["args"]!);

        // 24 bytes: seq, marker and comm are there, stamp and args are not.
        var shortOne = decoded[1];
        Assert.Equal(1u, shortOne["seq"]);
        Assert.Equal(200u, shortOne["marker"]);
        Assert.Equal("bpfps-events", shortOne["comm"]);
        Assert.Null(shortOne["stamp"]);
        Assert.Null(shortOne["args"]);
    }

    [SkippableFact]
    public void RecordsLongerThanTheTypeAreRefused()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        var decoder = EventDecoder.ForType(collection.Spec.Btf!, "struct event");
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeLong, 1);
        var record = reader.ReadOne()!;
        Assert.Equal(EventFixture.EventSize + 32, record.Length);
        var e = Assert.Throws<EventRecordTooLongException>(() => decoder.Decode(record));
        Assert.Contains("struct event", e.Message);
        Assert.Equal(96, e.RecordLength);
        // As the longer type it decodes.
        var big = Assert.IsType<BtfRecord>(EventDecoder.ForType(collection.Spec.Btf!, "big_event").Decode(record));
        Assert.Equal(new object?[] { 0UL, 1UL, 2UL, 3UL }, (object?[])big["extra"]!);
    }

    [SkippableFact]
    public void ATypeNotInTheBtfIsNamedInTheError()
    {
        using var collection = EventFixture.Load();
        var e = Assert.Throws<ArgumentException>(() => EventDecoder.ForType(collection.Spec.Btf!, "no_such_event"));
        Assert.Contains("'no_such_event'", e.Message);
        Assert.Throws<ArgumentException>(() => EventDecoder.ForType(collection.Spec.Btf!, "union event"));
    }

    [SkippableFact]
    public void MapBtfIsFoundThroughAProgramUsingIt()
    {
        using var collection = EventFixture.Load();
        var btf = EventBtf.FromProgramsUsing(collection.Maps["events"].Id);
        Assert.NotNull(btf);
        Assert.Equal(EventFixture.EventSize, EventDecoder.ForType(btf, "event").Size);
    }

    [SkippableFact]
    public void KernelClockConvertsStampsToNow()
    {
        using var collection = EventFixture.Load();
        using var reader = new RingBufferReader(collection.Maps["events"].Fd);
        var decoder = EventDecoder.ForType(collection.Spec.Btf!, "event");
        EventFixture.Run(collection, "ringbuf_emit", EventFixture.ModeFull, 1);
        var record = Assert.IsType<BtfRecord>(decoder.Decode(reader.ReadOne()));
        var when = new KernelClock(KernelClockKind.Monotonic).ToUtc((ulong)record["stamp"]!);
        Assert.InRange((DateTime.UtcNow - when).TotalSeconds, -1, 5);
    }
}
