using System.Net;
using System.Net.Sockets;
using BpfPS.Core.Netlink;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Links;

/// <summary>
/// Two private network namespaces joined by a veth pair, made for one test and removed by it (by the unique names it
/// created, even when the test fails): "server" holds <see cref="ServerInterface"/> at 10.199.0.1/30, "client" holds
/// <see cref="ClientInterface"/> at 10.199.0.2/30. Traffic is UDP sent from client to server only; both namespaces are
/// entered from inside the process (setns on a thread), never with `ip netns exec`, which remounts /sys.
/// </summary>
internal sealed class NetworkTestKit : IDisposable
{
    public const int TestPort = 47001;     // the port the links_net.c programs count
    public const string TestPortText = "47001";
    public static readonly IPAddress ServerAddress = IPAddress.Parse("10.199.0.1");
    public static readonly IPAddress ClientAddress = IPAddress.Parse("10.199.0.2");
    private static int s_sequence;

    private readonly List<string> _namespaces = [];
    private readonly List<IDisposable> _owned = [];
    private Socket? _receiver;

    public string ServerNamespaceName { get; }
    public string ClientNamespaceName { get; }
    public string ServerInterface { get; }
    public string ClientInterface { get; }
    public NetworkNamespace Server { get; private set; } = null!;
    public NetworkNamespace Client { get; private set; } = null!;
    /// <summary>The index of <see cref="ServerInterface"/> inside the server namespace.</summary>
    public int ServerIfindex { get; private set; }
    public int ClientIfindex { get; private set; }

    /// <summary>Skips the test unless we are root with `ip` available; otherwise builds the namespaces.</summary>
    public static NetworkTestKit Create()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Environment.IsPrivilegedProcess, "network namespaces and veth pairs need root");
        Skip.IfNot(KernelTestSupport.HasTool("ip"), "iproute2 `ip` is not installed");
        var kit = new NetworkTestKit();
        try
        {
            kit.Build();
            return kit;
        }
        catch
        {
            kit.Dispose();
            throw;
        }
    }

    private NetworkTestKit()
    {
        int n = Interlocked.Increment(ref s_sequence);
        string id = $"{Environment.ProcessId}-{n}";
        ServerNamespaceName = $"links-net-{id}-s";
        ClientNamespaceName = $"links-net-{id}-c";
        string shortId = $"{Environment.ProcessId % 100000}{n % 100:00}";   // interface names are limited to 15 bytes
        ServerInterface = $"lns{shortId}";
        ClientInterface = $"lnc{shortId}";
    }

    private void Build()
    {
        Ip($"netns add {ServerNamespaceName}");
        _namespaces.Add(ServerNamespaceName);
        Ip($"netns add {ClientNamespaceName}");
        _namespaces.Add(ClientNamespaceName);
        Ip($"link add {ServerInterface} netns {ServerNamespaceName} type veth peer name {ClientInterface} netns {ClientNamespaceName}");
        Ip($"-n {ServerNamespaceName} addr add {ServerAddress}/30 dev {ServerInterface}");
        Ip($"-n {ClientNamespaceName} addr add {ClientAddress}/30 dev {ClientInterface}");
        Ip($"-n {ServerNamespaceName} link set lo up");
        Ip($"-n {ClientNamespaceName} link set lo up");
        Ip($"-n {ServerNamespaceName} link set {ServerInterface} up");
        Ip($"-n {ClientNamespaceName} link set {ClientInterface} up");
        Server = NetworkNamespace.Open($"/run/netns/{ServerNamespaceName}");
        Client = NetworkNamespace.Open($"/run/netns/{ClientNamespaceName}");
        ServerIfindex = Server.Run(() => NetlinkInterfaces.IndexOf(ServerInterface));
        ClientIfindex = Client.Run(() => NetlinkInterfaces.IndexOf(ClientInterface));
        // A first exchange settles ARP, so later counts see only the datagrams a test sends.
        SendAndReceive(1);
    }

    /// <summary>The server's UDP socket on <see cref="TestPort"/>, opened in the server namespace on first use.</summary>
    public Socket Receiver => _receiver ??= Server.Run(() =>
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(ServerAddress, TestPort));
        socket.ReceiveTimeout = 5000;
        return socket;
    });

    /// <summary>Sends <paramref name="count"/> datagrams from the client namespace to the server's test port.</summary>
    public void Send(int count)
    {
        Client.Run(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            socket.Bind(new IPEndPoint(ClientAddress, 0));
            for (int i = 0; i < count; i++)
                socket.SendTo(BitConverter.GetBytes(i), new IPEndPoint(ServerAddress, TestPort));
        });
    }

    /// <summary>Sends <paramref name="count"/> datagrams and waits until the server socket has them all.</summary>
    public void SendAndReceive(int count)
    {
        var receiver = Receiver;
        Send(count);
        var buffer = new byte[64];
        for (int i = 0; i < count; i++)
            receiver.Receive(buffer);   // throws SocketException (timeout) when a datagram got lost
    }

    /// <summary>
    /// Answers <paramref name="count"/> datagrams on the server's test port, each back to its sender, on a background
    /// task (for clients that wait for replies).
    /// </summary>
    public Task EchoAsync(int count)
    {
        var receiver = Receiver;
        return Task.Run(() =>
        {
            var buffer = new byte[256];
            for (int i = 0; i < count; i++)
            {
                EndPoint from = new IPEndPoint(IPAddress.Any, 0);
                int n = receiver.ReceiveFrom(buffer, ref from);
                receiver.SendTo(buffer.AsSpan(0, n), from);
            }
        });
    }

    /// <summary>Runs a bash script (killed, by its own PID, after 20 s), returning its exit code and output.</summary>
    public static (int ExitCode, string Output) Shell(string script)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        using var process = System.Diagnostics.Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(20_000))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, "timed out: " + stdout.Result + stderr.Result);
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    /// <summary>
    /// Disposes <paramref name="link"/> and waits until the kernel has let the link go: a child process that another
    /// test forks at that moment holds every descriptor of this process until its exec, which defers the release.
    /// </summary>
    public static void DisposeAndWait(BpfPS.Core.Links.BpfLink link)
    {
        uint id = link.Id;
        link.Dispose();
        if (id == 0) return;
        bool gone = SpinWait.SpinUntil(() =>
        {
            try
            {
                BpfPS.Core.Kernel.BpfSyscall.LinkGetFdById(id).Dispose();
                return false;
            }
            catch (BpfPS.Core.Kernel.BpfSyscallException)
            {
                return true;
            }
        }, 5000);
        Assert.True(gone, $"link {id} still exists 5 s after it was disposed");
    }

    /// <summary>Keeps an object alive for the test and disposes it (before the namespaces go) at the end.</summary>
    public T Own<T>(T disposable) where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    public void Dispose()
    {
        for (int i = _owned.Count - 1; i >= 0; i--)
            try { _owned[i].Dispose(); } catch { /* keep cleaning */ }
        _receiver?.Dispose();
        Server?.Dispose();
        Client?.Dispose();
        foreach (var name in _namespaces)   // deleting a namespace deletes the veth end inside it
            KernelTestSupport.Run("ip", $"netns del {name}");
    }

    private static void Ip(string arguments)
    {
        var (code, output) = KernelTestSupport.Run("ip", arguments);
        if (code != 0) throw new InvalidOperationException($"ip {arguments} failed ({code}): {output}");
    }
}
