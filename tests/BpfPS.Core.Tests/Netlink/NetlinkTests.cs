using BpfPS.Core.Kernel;
using BpfPS.Core.Netlink;
using BpfPS.Core.Tests.Links;

namespace BpfPS.Core.Tests.Netlink;

/// <summary>The netlink layer against the real kernel, inside namespaces the test creates.</summary>
public sealed class NetlinkTests
{
    [SkippableFact]
    public void InterfacesResolveByNameAndIndexInsideTheirNamespace()
    {
        using var kit = NetworkTestKit.Create();
        kit.Server.Run(() =>
        {
            using var socket = NetlinkSocket.OpenRoute();
            var byName = NetlinkInterfaces.Find(socket, kit.ServerInterface);
            Assert.NotNull(byName);
            Assert.Equal(kit.ServerIfindex, byName.Index);
            Assert.Equal(kit.ServerInterface, NetlinkInterfaces.Find(socket, byName.Index)?.Name);
            Assert.Contains(NetlinkInterfaces.List(socket), i => i.Name == "lo");
            Assert.Null(NetlinkInterfaces.Find(socket, kit.ClientInterface));   // the peer lives in the other namespace
            var e = Assert.Throws<NetlinkException>(() => NetlinkInterfaces.IndexOf("nosuchif0"));
            Assert.Equal(19, e.ErrorNumber);
        });
    }

    [SkippableTheory]
    [InlineData(XdpMode.Generic, XdpAttachedMode.Generic)]
    [InlineData(XdpMode.Native, XdpAttachedMode.Native)]
    public void XdpAttachedByNetlinkCountsUntilDetached(XdpMode mode, XdpAttachedMode reported)
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var program = programs["xdp_count_a"];
        using var socket = kit.Server.Run(NetlinkSocket.OpenRoute);
        NetlinkXdp.Set(socket, kit.ServerIfindex, program.Fd, mode, NetlinkXdp.FlagUpdateIfNotExists);
        try
        {
            var attached = NetlinkXdp.Query(socket, kit.ServerIfindex);
            Assert.Equal(reported, attached.Mode);
            Assert.Equal(program.Id, attached.ProgramId);

            // A second program on a held interface is refused, with the kernel's reason.
            var busy = Assert.Throws<NetlinkException>(() =>
                NetlinkXdp.Set(socket, kit.ServerIfindex, programs["xdp_count_b"].Fd, mode, NetlinkXdp.FlagUpdateIfNotExists));
            Assert.Equal(Errno.EBUSY, busy.ErrorNumber);

            ulong before = programs.Counter(LinksNetFixture.XdpA);
            kit.SendAndReceive(5);
            Assert.Equal(before + 5, programs.Counter(LinksNetFixture.XdpA));
        }
        finally
        {
            NetlinkXdp.Set(socket, kit.ServerIfindex, null, mode);
        }
        Assert.Equal(XdpAttachedMode.None, NetlinkXdp.Query(socket, kit.ServerIfindex).Mode);
        ulong stopped = programs.Counter(LinksNetFixture.XdpA);
        kit.SendAndReceive(3);
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.XdpA));
    }

    [SkippableFact]
    public void ClsactBpfFilterCountsIsListedAndIsRemovedExactly()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        var program = programs["tc_count_a"];
        using var socket = kit.Server.Run(NetlinkSocket.OpenRoute);
        Assert.True(NetlinkTc.AddClsact(socket, kit.ServerIfindex));
        Assert.False(NetlinkTc.AddClsact(socket, kit.ServerIfindex));   // already there: reported, not an error
        try
        {
            NetlinkTc.AddBpfFilter(socket, kit.ServerIfindex, TcDirection.Ingress, 7, 1, program.Fd, program.Name);
            var filter = Assert.Single(NetlinkTc.ListBpfFilters(socket, kit.ServerIfindex, TcDirection.Ingress));
            Assert.Equal((ushort)7, filter.Priority);
            Assert.Equal(1u, filter.Handle);
            Assert.Equal(program.Id, filter.ProgramId);
            Assert.True(filter.DirectAction);
            Assert.Empty(NetlinkTc.ListBpfFilters(socket, kit.ServerIfindex, TcDirection.Egress));

            var taken = Assert.Throws<NetlinkException>(() =>
                NetlinkTc.AddBpfFilter(socket, kit.ServerIfindex, TcDirection.Ingress, 7, 1, program.Fd, program.Name));
            Assert.Equal(Errno.EEXIST, taken.ErrorNumber);

            ulong before = programs.Counter(LinksNetFixture.TcA);
            kit.SendAndReceive(4);
            Assert.Equal(before + 4, programs.Counter(LinksNetFixture.TcA));

            NetlinkTc.DeleteBpfFilter(socket, kit.ServerIfindex, TcDirection.Ingress, 7, 1);
            Assert.Empty(NetlinkTc.ListBpfFilters(socket, kit.ServerIfindex, TcDirection.Ingress));
            ulong stopped = programs.Counter(LinksNetFixture.TcA);
            kit.SendAndReceive(3);
            Assert.Equal(stopped, programs.Counter(LinksNetFixture.TcA));
        }
        finally
        {
            NetlinkTc.DeleteClsact(socket, kit.ServerIfindex);
        }
    }
}
