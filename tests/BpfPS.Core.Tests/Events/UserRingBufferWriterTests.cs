using System.Buffers.Binary;
using BpfPS.Core.Events;
using BpfPS.Core.Maps;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Events;

/// <summary>Records written from user space into the fixture's user ring buffer and drained by its program.</summary>
[Collection(EventFixture.TestCollection)]
public class UserRingBufferWriterTests
{
    private static byte[] Event(uint seq, uint marker, int size = EventFixture.EventSize)
    {
        var bytes = new byte[size];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, seq);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), marker);
        return bytes;
    }

    [SkippableFact]
    public void AProgramDrainsWhatWasWritten()
    {
        using var collection = EventFixture.Load();
        using var writer = new UserRingBufferWriter(collection.Maps["user_events"].Fd);
        Assert.True(writer.TryWrite(Event(3, 70)));
        Assert.True(writer.TryWrite(Event(4, 71)));
        Assert.True(writer.TryWriteDiscarded(Event(100, 99)));
        Assert.True(writer.TryWrite(Event(5, 72, size: 8)));   // short: only seq and marker
        Assert.True(writer.PendingBytes > 0);

        EventFixture.Run(collection, "user_drain", 0, 0);

        var drained = MapEntries.For(collection.Maps["drained"]);
        Assert.Equal(3UL, drained.Get(0u));          // the discarded record is skipped
        Assert.Equal(12UL, drained.Get(1u));         // 3 + 4 + 5
        Assert.Equal(72UL, drained.Get(2u));         // the last marker
        Assert.Equal(8UL, drained.Get(3u));          // the last record was the short one
        Assert.Equal(0, writer.PendingBytes);
    }

    [SkippableFact]
    public void AFullRingRefusesTheWriteUntilDrained()
    {
        using var collection = EventFixture.Load();
        using var writer = new UserRingBufferWriter(collection.Maps["user_events"].Fd);
        int written = 0;
        while (writer.TryWrite(Event((uint)written, 1))) written++;
        Assert.Equal(16 * 1024 / 72, written);   // 64-byte records take 72 bytes with their header
        EventFixture.Run(collection, "user_drain", 0, 0);
        Assert.True(writer.TryWrite(Event(0, 2)));
        Assert.Throws<ArgumentException>(() => writer.TryWrite(new byte[16 * 1024]));
        Assert.Throws<ArgumentException>(() => writer.TryWrite([]));
    }

    [SkippableFact]
    public void WrongMapTypeAndDescriptorsAreClean()
    {
        using var collection = EventFixture.Load();
        int before = KernelTestSupport.OpenFdCount();
        Assert.Throws<BpfEventException>(() => new UserRingBufferWriter(collection.Maps["events"].Fd));
        using (new UserRingBufferWriter(collection.Maps["user_events"].Fd)) { }
        Assert.Equal(before, KernelTestSupport.OpenFdCount());
    }
}
