using System.Net;
using System.Net.Sockets;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Links;

/// <summary>sk_lookup on a namespace, sk_msg/sk_skb on a sockmap, netfilter hooks and socket filters.</summary>
public sealed class SocketLinkTests
{
    [SkippableFact]
    public void SkLookupRunsForEachLookupInTheNamespace()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var link = SkLookupLinks.Attach(programs["sk_lookup_count"], kit.Server);
        try
        {
            Assert.Equal(BpfLinkType.Netns, link.Type);
            Assert.Equal(BpfAttachType.SkLookup, link.AttachType);
            ulong before = programs.Counter(LinksNetFixture.SkLookup);
            kit.SendAndReceive(5);
            Assert.Equal(before + 5, programs.Counter(LinksNetFixture.SkLookup));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        ulong stopped = programs.Counter(LinksNetFixture.SkLookup);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.SkLookup));

        var notNetns = Assert.Throws<LinkAttachException>(() => SkLookupLinks.Attach(programs["sk_lookup_count"], "/proc/self/ns/pid"));
        Assert.Contains("not a network namespace", notNetns.Message);
    }

    /// <summary>A connected TCP pair on the server namespace's loopback: (client, accepted).</summary>
    private static (Socket Client, Socket Server) TcpPair(NetworkTestKit kit, int port) => kit.Server.Run(() =>
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        client.Connect(new IPEndPoint(IPAddress.Loopback, port));
        var server = listener.Accept();
        server.ReceiveTimeout = 5000;
        return (client, server);
    });

    private static void Exchange(Socket from, Socket to, int messages)
    {
        var buffer = new byte[16];
        for (int i = 0; i < messages; i++)
        {
            from.Send("ping"u8);
            int got = 0;
            while (got < 4) got += to.Receive(buffer, got, 4 - got, SocketFlags.None);
        }
    }

    private static void PutInMap(LinksNetFixture programs, uint key, Socket socket) =>
        programs.Collection.Maps["socks"].Update(BitConverter.GetBytes(key), BitConverter.GetBytes((uint)socket.SafeHandle.DangerousGetHandle()));

    [SkippableTheory]
    [InlineData("sk_msg_count", LinksNetFixture.SkMsg, true)]
    [InlineData("sk_skb_count", LinksNetFixture.SkSkb, false)]
    public void SockMapProgramsRunForSocketsInTheMap(string programName, uint slot, bool sender)
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var (client, server) = TcpPair(kit, 47100);
        using var c = client;
        using var s = server;
        var link = SockMapLinks.Attach(programs[programName], programs.Collection.Maps["socks"]);
        try
        {
            Assert.Contains("socks", link.Target);
            // sk_msg runs on the sending socket, sk_skb's verdict on the receiving one: that one goes in the map.
            PutInMap(programs, 0, sender ? client : server);
            ulong before = programs.Counter(slot);
            Exchange(client, server, 3);
            Assert.Equal(before + 3, programs.Counter(slot));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        // Detached from the map: a socket added now gets no program.
        var (client2, server2) = TcpPair(kit, 47101);
        using var c2 = client2;
        using var s2 = server2;
        PutInMap(programs, 1, sender ? client2 : server2);
        ulong stopped = programs.Counter(slot);
        Exchange(client2, server2, 3);
        Assert.Equal(stopped, programs.Counter(slot));
    }

    [SkippableFact]
    public void SockMapFallsBackToProgAttachThatDetachesOnDispose()
    {
        KernelTestSupport.RequireBpf();
        using var programs = new LinksNetFixture();
        var map = programs.Collection.Maps["socks"];
        using (var attached = ProgAttachLink.Attach(programs["sk_msg_count"], map.Fd, BpfAttachType.SkMsgVerdict, "map socks"))
        {
            Assert.Null(attached.Fd);
            using var lease = map.Fd.Lease();
            Assert.Equal([programs["sk_msg_count"].Id], BpfSyscall.ProgQuery(lease.Value, BpfAttachType.SkMsgVerdict).ProgramIds);
        }
        using (var lease = map.Fd.Lease())
            Assert.Empty(BpfSyscall.ProgQuery(lease.Value, BpfAttachType.SkMsgVerdict).ProgramIds);

        var wrongMap = Assert.Throws<LinkAttachException>(() => SockMapLinks.Attach(programs["sk_msg_count"], programs.Collection.Maps["counters"]));
        Assert.Contains("sockmap or sockhash", wrongMap.Message);
    }

    [SkippableFact]
    public void NetfilterHookCountsPacketsOfItsNamespace()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var link = kit.Server.Run(() => NetfilterLinks.Attach(programs["netfilter_count"], NetfilterProtocolFamily.IPv4, NetfilterHook.LocalIn, -100));
        try
        {
            Assert.Equal(BpfLinkType.Netfilter, link.Type);
            ulong before = programs.Counter(LinksNetFixture.Netfilter);
            kit.SendAndReceive(5);
            Assert.Equal(before + 5, programs.Counter(LinksNetFixture.Netfilter));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        ulong stopped = programs.Counter(LinksNetFixture.Netfilter);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.Netfilter));

        var wrongType = Assert.Throws<LinkAttachException>(() => NetfilterLinks.Attach(programs["xdp_count_a"], NetfilterProtocolFamily.IPv4, NetfilterHook.LocalIn, 0));
        Assert.Contains("netfilter", wrongType.Message);
    }

    [SkippableFact]
    public void SocketFilterCountsWhatItsSocketReceivesUntilDetached()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using (var link = SocketFilterLink.Attach(programs["socket_count"], kit.Receiver))
        {
            Assert.Null(link.Fd);
            ulong before = programs.Counter(LinksNetFixture.SocketFilter);
            kit.SendAndReceive(4);
            Assert.Equal(before + 4, programs.Counter(LinksNetFixture.SocketFilter));
        }
        ulong stopped = programs.Counter(LinksNetFixture.SocketFilter);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.SocketFilter));

        var closed = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        closed.Dispose();
        Assert.Throws<LinkAttachException>(() => SocketFilterLink.Attach(programs["socket_count"], closed.SafeHandle));
    }
}
