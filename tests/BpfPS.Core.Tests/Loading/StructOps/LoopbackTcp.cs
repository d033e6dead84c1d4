using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;

namespace BpfPS.Core.Tests.Loading.StructOps;

/// <summary>
/// A TCP connection over loopback inside a network namespace of its own: a dedicated thread unshares its network
/// namespace (only that thread moves), brings lo up, and runs the connection with a chosen congestion control
/// (TCP_CONGESTION). The namespace goes away with the thread and its sockets. Everything is synchronous, so the thread
/// starts no other thread that could inherit the namespace.
/// </summary>
internal static partial class LoopbackTcp
{
    private const int CloneNewNet = 0x40000000;
    private const int IpProtoTcp = 6;
    private const int TcpCongestion = 13;
    private const ulong SiocGifFlags = 0x8913, SiocSifFlags = 0x8914;
    private const byte IffUp = 0x1;

    /// <summary>What the connection saw: the congestion control each end reported after the transfer.</summary>
    public sealed record Result(string ClientCongestionControl, string ServerCongestionControl, int BytesTransferred);

    /// <summary>Runs a connection that sets <paramref name="congestionControl"/> on both ends and moves <paramref name="bytes"/> bytes.</summary>
    public static Result Run(string congestionControl, int bytes = 1 << 20)
    {
        Result? result = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { result = RunInNewNamespace(congestionControl, bytes); }
            catch (Exception e) { failure = e; }
        }, 1 << 20) { Name = "bpfps-struct-ops-netns", IsBackground = true };
        thread.Start();
        if (!thread.Join(TimeSpan.FromSeconds(60))) throw new TimeoutException("the loopback TCP connection did not finish in 60 s");
        if (failure is not null) throw new InvalidOperationException($"loopback TCP in a new network namespace failed: {failure.Message}", failure);
        return result!;
    }

    private static Result RunInNewNamespace(string congestionControl, int bytes)
    {
        if (Unshare(CloneNewNet) != 0) throw new InvalidOperationException($"unshare(CLONE_NEWNET): errno {Marshal.GetLastPInvokeError()}");
        BringLoopbackUp();

        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SetCongestionControl(listener, congestionControl);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        SetCongestionControl(client, congestionControl);
        client.Connect(listener.LocalEndPoint!);
        using var server = listener.Accept();

        var chunk = new byte[16 * 1024];
        var sink = new byte[chunk.Length];
        int moved = 0;
        while (moved < bytes)
        {
            int sent = client.Send(chunk);
            for (int got = 0; got < sent;)
            {
                int n = server.Receive(sink);
                if (n == 0) throw new InvalidOperationException("the server side closed early");
                got += n;
            }
            moved += sent;
        }
        return new Result(CongestionControl(client), CongestionControl(server), moved);
    }

    private static void SetCongestionControl(Socket socket, string name)
    {
        var value = new byte[16];
        Encoding.ASCII.GetBytes(name, value);
        socket.SetRawSocketOption(IpProtoTcp, TcpCongestion, value.AsSpan(0, name.Length));
    }

    private static string CongestionControl(Socket socket)
    {
        var value = new byte[16];
        int n = socket.GetRawSocketOption(IpProtoTcp, TcpCongestion, value);
        int end = Array.IndexOf(value, (byte)0, 0, n);
        return Encoding.ASCII.GetString(value, 0, end < 0 ? n : end);
    }

    /// <summary>A new namespace's lo is down: SIOCSIFFLAGS it up (struct ifreq: 16-byte name, then the short flags).</summary>
    private static void BringLoopbackUp()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var ifreq = new byte[40];
        ifreq[0] = (byte)'l';
        ifreq[1] = (byte)'o';
        int fd = (int)socket.Handle;
        if (Ioctl(fd, SiocGifFlags, ifreq) != 0) throw new InvalidOperationException($"SIOCGIFFLAGS lo: errno {Marshal.GetLastPInvokeError()}");
        ifreq[16] |= IffUp;
        if (Ioctl(fd, SiocSifFlags, ifreq) != 0) throw new InvalidOperationException($"SIOCSIFFLAGS lo: errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    private static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(int fd, ulong request, [In, Out] byte[] argument);
}
