using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Tests.Links;

/// <summary>tcx links (ordered, 6.6+) and classic tc clsact + cls_bpf on a veth end of a private namespace.</summary>
public sealed class TcLinkTests
{
    [SkippableFact]
    public void TcxLinksRunInTheOrderAskedAndStopWhenDisposed()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var a = programs["tc_count_a"];
        var b = programs["tc_count_b"];
        var first = kit.Server.Run(() => TcxLinks.Attach(a, kit.ServerInterface, TcDirection.Ingress));
        KernelLink? second = null;
        try
        {
            Assert.Equal(BpfLinkType.Tcx, first.Type);
            Assert.Equal(BpfAttachType.TcxIngress, first.AttachType);
            var query = kit.Server.Run(() => TcxLinks.Query(kit.ServerIfindex, TcDirection.Ingress));
            Assert.Equal([a.Id], query.ProgramIds);

            // A stale revision is refused; the current one is accepted, before the first program.
            var stale = Assert.Throws<LinkAttachException>(() =>
                kit.Server.Run(() => TcxLinks.Attach(b, kit.ServerInterface, TcDirection.Ingress, TcxPosition.BeforeProgram(a), query.Revision + 5)));
            Assert.Equal(116, stale.ErrorNumber);
            second = kit.Server.Run(() => TcxLinks.Attach(b, kit.ServerInterface, TcDirection.Ingress, TcxPosition.BeforeLink(first), query.Revision));

            var ordered = kit.Server.Run(() => TcxLinks.Query(kit.ServerIfindex, TcDirection.Ingress));
            Assert.Equal([b.Id, a.Id], ordered.ProgramIds);
            Assert.Equal([second.Id, first.Id], ordered.LinkIds);
            Assert.True(ordered.Revision > query.Revision);
            Assert.Empty(kit.Server.Run(() => TcxLinks.Query(kit.ServerIfindex, TcDirection.Egress)).ProgramIds);

            // Both run (each returns TCX_NEXT), every datagram once.
            ulong a0 = programs.Counter(LinksNetFixture.TcA), b0 = programs.Counter(LinksNetFixture.TcB);
            kit.SendAndReceive(5);
            Assert.Equal(a0 + 5, programs.Counter(LinksNetFixture.TcA));
            Assert.Equal(b0 + 5, programs.Counter(LinksNetFixture.TcB));
        }
        finally
        {
            if (second is not null) NetworkTestKit.DisposeAndWait(second);
            NetworkTestKit.DisposeAndWait(first);
        }
        Assert.Empty(kit.Server.Run(() => TcxLinks.Query(kit.ServerIfindex, TcDirection.Ingress)).ProgramIds);
        ulong stoppedA = programs.Counter(LinksNetFixture.TcA), stoppedB = programs.Counter(LinksNetFixture.TcB);
        kit.SendAndReceive(3);
        Assert.Equal(stoppedA, programs.Counter(LinksNetFixture.TcA));
        Assert.Equal(stoppedB, programs.Counter(LinksNetFixture.TcB));
    }

    [SkippableFact]
    public void TcxEgressLinkSwapsProgramsInPlace()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using var link = kit.Client.Run(() => TcxLinks.Attach(programs["tc_count_a"], kit.ClientInterface, TcDirection.Egress));
        ulong a0 = programs.Counter(LinksNetFixture.TcA), b0 = programs.Counter(LinksNetFixture.TcB);
        kit.SendAndReceive(3);
        Assert.Equal(a0 + 3, programs.Counter(LinksNetFixture.TcA));
        link.Update(programs["tc_count_b"]);
        kit.SendAndReceive(4);
        Assert.Equal(a0 + 3, programs.Counter(LinksNetFixture.TcA));
        Assert.Equal(b0 + 4, programs.Counter(LinksNetFixture.TcB));
        Assert.Equal([programs["tc_count_b"].Id], kit.Client.Run(() => TcxLinks.Query(kit.ClientIfindex, TcDirection.Egress)).ProgramIds);
    }

    [SkippableFact]
    public void ClassicTcFiltersCountAndDisposeRemovesExactlyWhatTheyAdded()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var first = kit.Server.Run(() => TcClassicLink.Attach(programs["tc_count_a"], kit.ServerInterface, TcDirection.Ingress, priority: 5));
        var second = kit.Server.Run(() => TcClassicLink.Attach(programs["tc_count_b"], kit.ServerInterface, TcDirection.Ingress, priority: 5));
        try
        {
            Assert.Null(first.Fd);
            Assert.Equal((ushort)5, first.Priority);
            Assert.Equal(1u, first.Handle);
            Assert.Equal(2u, second.Handle);   // the next free handle at that priority
            var listed = kit.Server.Run(() => TcClassicLink.List(kit.ServerIfindex, TcDirection.Ingress));
            Assert.Equal([programs["tc_count_a"].Id, programs["tc_count_b"].Id], listed.OrderBy(f => f.Handle).Select(f => f.ProgramId));

            var taken = Assert.Throws<LinkAttachException>(() =>
                kit.Server.Run(() => TcClassicLink.Attach(programs["tc_count_a"], kit.ServerInterface, TcDirection.Ingress, 5, 1)));
            Assert.Equal(Errno.EEXIST, taken.ErrorNumber);

            ulong a0 = programs.Counter(LinksNetFixture.TcA), b0 = programs.Counter(LinksNetFixture.TcB);
            kit.SendAndReceive(4);
            Assert.Equal(a0 + 4, programs.Counter(LinksNetFixture.TcA));
            Assert.Equal(b0 + 4, programs.Counter(LinksNetFixture.TcB));

            first.Dispose();
            var left = Assert.Single(kit.Server.Run(() => TcClassicLink.List(kit.ServerIfindex, TcDirection.Ingress)));
            Assert.Equal(2u, left.Handle);
            ulong a1 = programs.Counter(LinksNetFixture.TcA);
            kit.SendAndReceive(2);
            Assert.Equal(a1, programs.Counter(LinksNetFixture.TcA));
            Assert.Equal(b0 + 6, programs.Counter(LinksNetFixture.TcB));
        }
        finally
        {
            first.Dispose();
            second.Dispose();
        }
        // The qdisc this attachment created went with the last filter.
        var (_, qdiscs) = KernelTestSupport.Run("tc", $"-n {kit.ServerNamespaceName} qdisc show dev {kit.ServerInterface}");
        Assert.DoesNotContain("clsact", qdiscs);
        ulong b1 = programs.Counter(LinksNetFixture.TcB);
        kit.SendAndReceive(2);
        Assert.Equal(b1, programs.Counter(LinksNetFixture.TcB));
    }

    [SkippableFact]
    public void ClassicTcOnEgressCountsSentDatagrams()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using (kit.Client.Run(() => TcClassicLink.Attach(programs["tc_count_a"], kit.ClientInterface, TcDirection.Egress)))
        {
            ulong a0 = programs.Counter(LinksNetFixture.TcA);
            kit.SendAndReceive(3);
            Assert.Equal(a0 + 3, programs.Counter(LinksNetFixture.TcA));
        }
        ulong stopped = programs.Counter(LinksNetFixture.TcA);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.TcA));
    }
}
