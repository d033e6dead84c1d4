using System.Buffers.Binary;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Events;

/// <summary>Event tests count this process's descriptors, so they run alone.</summary>
[CollectionDefinition(EventFixture.TestCollection, DisableParallelization = true)]
public sealed class EventTestCollection;

/// <summary>tests/fixtures/events.c loaded, and its programs run by BPF_PROG_TEST_RUN with a request packet.</summary>
internal static class EventFixture
{
    public const string TestCollection = "Event readers (descriptor counts)";
    public const uint ModeFull = 0, ModeDiscard = 1, ModeShort = 2, ModeLong = 3;
    /// <summary>sizeof(struct event) in events.c.</summary>
    public const int EventSize = 64;

    public static Collection Load()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Fixtures.ClangAvailable || File.Exists(Path.Combine(Fixtures.RepositoryRoot, "build", "fixtures", "events.o")),
            "clang-14 is needed to compile tests/fixtures/events.c");
        return BpfPS.Core.Loading.Collection.LoadFile(Fixtures.Path("events"));
    }

    /// <summary>A 64-byte packet whose first bytes are the fixture's struct request.</summary>
    public static byte[] Request(uint mode, uint marker, uint length = 0)
    {
        var packet = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(packet, mode);
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(4), marker);
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(8), length);
        return packet;
    }

    /// <summary>Runs <paramref name="program"/> <paramref name="times"/> times with the request.</summary>
    public static void Run(Collection collection, string program, uint mode, uint marker, uint length = 0, uint times = 1) =>
        collection.Programs[program].TestRun(Request(mode, marker, length), repeat: times);

    public static uint Seq(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt32LittleEndian(record);
    public static uint Marker(ReadOnlySpan<byte> record) => BinaryPrimitives.ReadUInt32LittleEndian(record[4..]);
}
