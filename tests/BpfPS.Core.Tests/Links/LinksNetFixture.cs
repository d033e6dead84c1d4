using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Links;

/// <summary>The links_net.c programs, loaded once per test, and their counters (one slot per program).</summary>
internal sealed class LinksNetFixture : IDisposable
{
    public const uint XdpA = 0, XdpB = 1, TcA = 2, TcB = 3, CgroupIngress = 4, CgroupEgress = 5, SockCreate = 6, SockOps = 7,
        SkLookup = 8, SkMsg = 9, SkSkb = 10, Netfilter = 11, SocketFilter = 12;

    public LinksNetFixture() => Collection = Collection.LoadFile(Fixtures.Path("links_net"));

    public Collection Collection { get; }

    public LoadedProgram this[string name] => Collection.Programs[name];

    /// <summary>The current value of counter <paramref name="slot"/>.</summary>
    public ulong Counter(uint slot)
    {
        var value = Collection.Maps["counters"].Lookup(BitConverter.GetBytes(slot)) ?? throw new InvalidOperationException($"no counter {slot}");
        return BitConverter.ToUInt64(value);
    }

    public void Dispose() => Collection.Dispose();
}
