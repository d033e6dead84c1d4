using System.Net;
using System.Net.Sockets;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Links;

/// <summary>
/// cgroup_skb, cgroup/sock_create and sockops on a cgroup v2 directory the test creates. The traffic comes from a
/// helper bash that moves itself into that cgroup (by its PID) and then enters the client namespace with nsenter.
/// </summary>
public sealed class CgroupLinkTests
{
    private sealed class TestCgroup : IDisposable
    {
        private static int s_sequence;
        public string Path { get; }

        public TestCgroup()
        {
            var root = CgroupLinks.Cgroup2Root();
            Skip.If(root is null, "no cgroup v2 hierarchy is mounted");
            Skip.IfNot(KernelTestSupport.HasTool("nsenter"), "util-linux nsenter is not installed");
            Path = System.IO.Path.Combine(root!, $"links-net-{Environment.ProcessId}-{Interlocked.Increment(ref s_sequence)}");
            Directory.CreateDirectory(Path);
        }

        /// <summary>Runs <paramref name="script"/> in bash moved into this cgroup and into the client namespace.</summary>
        public void RunInside(NetworkTestKit kit, string script)
        {
            var (code, output) = NetworkTestKit.Shell(
                $"echo $$ > {Path}/cgroup.procs && exec nsenter --net=/run/netns/{kit.ClientNamespaceName} bash -c '{script}'");
            Assert.True(code == 0, $"helper failed ({code}): {output}");
        }

        public void Dispose()
        {
            // The helpers have exited, so the cgroup is empty; rmdir is how a cgroup is removed.
            for (int i = 0; i < 50 && Directory.Exists(Path); i++)
            {
                try { Directory.Delete(Path); }
                catch (IOException) { Thread.Sleep(100); }   // EBUSY while the last helper is still being reaped
            }
        }
    }

    private const string UdpExchange =
        $"exec 3<>/dev/udp/10.199.0.1/{NetworkTestKit.TestPortText}; for i in 1 2 3; do echo x >&3; read -r -n 1 -t 5 line <&3 || exit 7; done";

    [SkippableFact]
    public void CgroupSkbAndSockCreateCountTheCgroupsTrafficOnly()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using var cgroup = new TestCgroup();
        var links = new List<BpfLink>();
        try
        {
            links.Add(CgroupLinks.Attach(programs["cgroup_ingress"], cgroup.Path));
            links.Add(CgroupLinks.Attach(programs["cgroup_egress"], cgroup.Path));
            links.Add(CgroupLinks.Attach(programs["sock_create"], cgroup.Path));
            Assert.All(links, l => Assert.Equal(BpfLinkType.Cgroup, l.Type));
            Assert.Equal(BpfAttachType.CgroupInetEgress, links[1].AttachType);
            Assert.Contains(cgroup.Path, links[0].Target);

            ulong in0 = programs.Counter(LinksNetFixture.CgroupIngress), out0 = programs.Counter(LinksNetFixture.CgroupEgress),
                sock0 = programs.Counter(LinksNetFixture.SockCreate);
            var echo = kit.EchoAsync(3);
            cgroup.RunInside(kit, UdpExchange);
            Assert.True(echo.Wait(10_000));
            Assert.Equal(out0 + 3, programs.Counter(LinksNetFixture.CgroupEgress));
            Assert.Equal(in0 + 3, programs.Counter(LinksNetFixture.CgroupIngress));
            Assert.Equal(sock0 + 1, programs.Counter(LinksNetFixture.SockCreate));

            // Traffic from outside the cgroup (this process) is not counted.
            kit.SendAndReceive(2);
            Assert.Equal(out0 + 3, programs.Counter(LinksNetFixture.CgroupEgress));
        }
        finally
        {
            foreach (var link in links) NetworkTestKit.DisposeAndWait(link);
        }
        ulong in1 = programs.Counter(LinksNetFixture.CgroupIngress), out1 = programs.Counter(LinksNetFixture.CgroupEgress),
            sock1 = programs.Counter(LinksNetFixture.SockCreate);
        var echoAgain = kit.EchoAsync(3);
        cgroup.RunInside(kit, UdpExchange);
        Assert.True(echoAgain.Wait(10_000));
        Assert.Equal(in1, programs.Counter(LinksNetFixture.CgroupIngress));
        Assert.Equal(out1, programs.Counter(LinksNetFixture.CgroupEgress));
        Assert.Equal(sock1, programs.Counter(LinksNetFixture.SockCreate));
    }

    [SkippableFact]
    public void SockOpsSeesEachConnectionOfTheCgroup()
    {
        using var kit = NetworkTestKit.Create();
        using var programs = new LinksNetFixture();
        using var cgroup = new TestCgroup();
        using var listener = kit.Server.Run(() =>
        {
            var l = new TcpListener(NetworkTestKit.ServerAddress, NetworkTestKit.TestPort + 1);
            l.Start();
            return new DisposableListener(l);
        });
        var accepting = Task.Run(() =>
        {
            for (int i = 0; i < 4; i++) listener.Listener.AcceptSocket().Dispose();
        });
        const string twoConnections = "for i in 1 2; do exec 3<>/dev/tcp/10.199.0.1/47002 || exit 7; exec 3>&-; done";
        var link = CgroupLinks.Attach(programs["sockops_count"], cgroup.Path);
        try
        {
            Assert.Equal(BpfAttachType.CgroupSockOps, link.AttachType);
            ulong before = programs.Counter(LinksNetFixture.SockOps);
            cgroup.RunInside(kit, twoConnections);
            Assert.Equal(before + 2, programs.Counter(LinksNetFixture.SockOps));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        ulong stopped = programs.Counter(LinksNetFixture.SockOps);
        cgroup.RunInside(kit, twoConnections);
        Assert.True(accepting.Wait(10_000));
        Assert.Equal(stopped, programs.Counter(LinksNetFixture.SockOps));
    }

    [SkippableFact]
    public void PathsThatAreNotCgroupV2DirectoriesAreRefusedClearly()
    {
        KernelTestSupport.RequireBpf();
        using var programs = new LinksNetFixture();
        var notCgroup = Assert.Throws<LinkAttachException>(() => CgroupLinks.Attach(programs["cgroup_ingress"], "/tmp"));
        Assert.Contains("not on a cgroup v2 filesystem", notCgroup.Message);
        Assert.Equal("cgroup_ingress", notCgroup.ProgramName);
        var missing = Assert.Throws<LinkAttachException>(() => CgroupLinks.Attach(programs["cgroup_ingress"], "/sys/fs/cgroup/unified/no-such-cgroup-links-net"));
        Assert.Equal(Errno.ENOENT, missing.ErrorNumber);
    }

    private sealed class DisposableListener(TcpListener listener) : IDisposable
    {
        public TcpListener Listener { get; } = listener;
        public void Dispose() => Listener.Stop();
    }
}
