using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Tests.Links;

/// <summary>XDP on a veth end of a private namespace, by kernel link and by netlink, in generic and native mode.</summary>
public sealed class XdpLinkTests
{
    [SkippableTheory]
    [InlineData(XdpMode.Generic, XdpAttachedMode.Generic)]
    [InlineData(XdpMode.Native, XdpAttachedMode.Native)]
    public void KernelLinkCountsBlocksNetlinkAndStopsWhenDisposed(XdpMode mode, XdpAttachedMode reported)
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var link = kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_a"], kit.ServerInterface, mode));
        try
        {
            Assert.IsType<KernelLink>(link);
            Assert.NotNull(link.Fd);
            Assert.NotEqual(0u, link.Id);
            Assert.Equal(BpfLinkType.Xdp, link.Type);
            Assert.Contains(kit.ServerInterface, link.Target);
            Assert.Equal(reported, kit.Server.Run(() => { using var s = NetlinkSocket.OpenRoute(); return NetlinkXdp.Query(s, kit.ServerIfindex).Mode; }));

            // The interface is held: another program by netlink (or by link) is refused with EBUSY, naming the holder.
            var busy = Assert.Throws<LinkAttachException>(() =>
                kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_b"], kit.ServerInterface, mode, useNetlink: true)));
            Assert.Equal(Errno.EBUSY, busy.ErrorNumber);
            Assert.Equal("xdp_count_b", busy.ProgramName);
            Assert.Contains(kit.ServerInterface, busy.Message);
            Assert.Contains($"id {programs["xdp_count_a"].Id}", busy.Message);
            var busyLink = Assert.Throws<LinkAttachException>(() =>
                kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_b"], kit.ServerInterface, mode)));
            Assert.Equal(Errno.EBUSY, busyLink.ErrorNumber);

            ulong before = programs.Counter(LinksNetFixture.XdpA);
            kit.SendAndReceive(5);
            Assert.Equal(before + 5, programs.Counter(LinksNetFixture.XdpA));
            Assert.Equal(0ul, programs.Counter(LinksNetFixture.XdpB));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        ulong stopped = programs.Counter(LinksNetFixture.XdpA);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.XdpA));
        Assert.Equal(XdpAttachedMode.None, kit.Server.Run(() => { using var s = NetlinkSocket.OpenRoute(); return NetlinkXdp.Query(s, kit.ServerIfindex).Mode; }));
    }

    [SkippableTheory]
    [InlineData(XdpMode.Generic)]
    [InlineData(XdpMode.Native)]
    public void NetlinkAttachmentIsALegacyLinkThatDetachesExactlyOnDispose(XdpMode mode)
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var link = kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_a"], kit.ServerInterface, mode, useNetlink: true));
        try
        {
            var legacy = Assert.IsType<NetlinkXdpLink>(link);
            Assert.Null(link.Fd);
            Assert.Equal(0u, link.Id);
            Assert.Equal(kit.ServerIfindex, legacy.Ifindex);
            Assert.Throws<NotSupportedException>(() => link.Pin("/sys/fs/bpf/never"));

            var busy = Assert.Throws<LinkAttachException>(() =>
                kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_b"], kit.ServerInterface, mode)));
            Assert.Equal(Errno.EBUSY, busy.ErrorNumber);

            ulong before = programs.Counter(LinksNetFixture.XdpA);
            kit.SendAndReceive(4);
            Assert.Equal(before + 4, programs.Counter(LinksNetFixture.XdpA));
        }
        finally
        {
            link.Dispose();   // from this thread, outside the namespace: the attachment's own socket detaches there
        }
        link.Dispose();   // idempotent
        Assert.Equal(XdpAttachedMode.None, kit.Server.Run(() => { using var s = NetlinkSocket.OpenRoute(); return NetlinkXdp.Query(s, kit.ServerIfindex).Mode; }));
        ulong stopped = programs.Counter(LinksNetFixture.XdpA);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.XdpA));
    }

    [SkippableFact]
    public void UpdateSwapsProgramsWithoutAGap()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using var link = kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_a"], kit.ServerInterface, XdpMode.Generic));
        ulong a0 = programs.Counter(LinksNetFixture.XdpA), b0 = programs.Counter(LinksNetFixture.XdpB);

        // Traffic flows while the program is swapped: every datagram is seen by exactly one of the two programs.
        const int total = 3000;
        var sender = Task.Run(() => kit.Client.Run(() =>
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            var to = new System.Net.IPEndPoint(NetworkTestKit.ServerAddress, NetworkTestKit.TestPort);
            for (int i = 0; i < total; i++)
            {
                socket.SendTo(BitConverter.GetBytes(i), to);
                if (i % 50 == 0) Thread.Sleep(1);
            }
        }));
        SpinWait.SpinUntil(() => programs.Counter(LinksNetFixture.XdpA) - a0 >= 200, 10_000);
        link.Update(programs["xdp_count_b"], expectedOld: programs["xdp_count_a"]);
        Assert.Equal("xdp_count_b", link.ProgramName);
        sender.Wait();
        Assert.True(SpinWait.SpinUntil(() => programs.Counter(LinksNetFixture.XdpA) - a0 + programs.Counter(LinksNetFixture.XdpB) - b0 == total, 10_000),
            $"a={programs.Counter(LinksNetFixture.XdpA) - a0} b={programs.Counter(LinksNetFixture.XdpB) - b0} of {total}");
        ulong a1 = programs.Counter(LinksNetFixture.XdpA), b1 = programs.Counter(LinksNetFixture.XdpB);
        Assert.True(a1 - a0 >= 200 && b1 - b0 > 0, $"both programs ran: a={a1 - a0} b={b1 - b0}");

        // The old program has stopped for good.
        kit.Send(10);
        Assert.True(SpinWait.SpinUntil(() => programs.Counter(LinksNetFixture.XdpB) == b1 + 10, 5000));
        Assert.Equal(a1, programs.Counter(LinksNetFixture.XdpA));

        // A swap conditioned on a program that is no longer attached is refused, and changes nothing.
        var stale = Assert.Throws<LinkAttachException>(() => link.Update(programs["xdp_count_a"], expectedOld: programs["xdp_count_a"]));
        Assert.Equal(Errno.EPERM, stale.ErrorNumber);
        Assert.Equal("xdp_count_b", link.ProgramName);
    }

    [SkippableFact]
    public void MissingInterfaceAndWrongProgramTypeAreClearErrors()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var missing = Assert.Throws<LinkAttachException>(() =>
            kit.Server.Run(() => XdpLinks.Attach(programs["xdp_count_a"], "nosuch0", XdpMode.Generic)));
        Assert.Equal(19, missing.ErrorNumber);
        Assert.Contains("nosuch0", missing.Message);
        var wrongType = Assert.Throws<LinkAttachException>(() =>
            kit.Server.Run(() => XdpLinks.Attach(programs["tc_count_a"], kit.ServerInterface, XdpMode.Generic)));
        Assert.Contains("SchedCls", wrongType.Message);
    }
}
