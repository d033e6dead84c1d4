using System.Net.Sockets;
using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Netlink;

namespace BpfPS.Core.Links;

/// <summary>
/// A socket filter set on one socket with SO_ATTACH_BPF. The socket is the caller's; disposing this removes the filter
/// (SO_DETACH_BPF) if the socket is still open, and closing the socket removes it anyway.
/// </summary>
public sealed class SocketFilterLink : BpfLink
{
    private const int SolSocket = 1, SoAttachBpf = 50, SoDetachBpf = 27;   // asm-generic/socket.h
    private readonly SafeHandle _socket;

    private SocketFilterLink(LoadedProgram program, SafeHandle socket, string target)
        : base(program, target, BpfLinkType.Unspec, null, null, 0) => _socket = socket;

    public override string Kind => "socket_filter";

    /// <summary>Attaches <paramref name="program"/> to <paramref name="socket"/>.</summary>
    /// <exception cref="LinkAttachException">Wrong program type, closed socket, or the kernel refused.</exception>
    public static SocketFilterLink Attach(LoadedProgram program, Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return Attach(program, socket.SafeHandle, $"socket {socket.SocketType}/{socket.ProtocolType}{(socket.LocalEndPoint is { } ep ? " " + ep : "")}");
    }

    /// <summary>Attaches <paramref name="program"/> to the socket behind <paramref name="socket"/> (any socket descriptor).</summary>
    public static unsafe SocketFilterLink Attach(LoadedProgram program, SafeHandle socket, string? description = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(socket);
        string target = description ?? "socket";
        if (program.Type != BpfProgramType.SocketFilter)
            throw new LinkAttachException(program.Name, target, $"it is a {program.Type} program; SO_ATTACH_BPF takes socket filter programs", Errno.EINVAL);
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            using var p = program.Fd.Lease();
            int fd = p.Value;
            if (NetlinkNative.SetSockOpt((int)socket.DangerousGetHandle(), SolSocket, SoAttachBpf, &fd, sizeof(int)) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new LinkAttachException(program.Name, target, $"setsockopt(SO_ATTACH_BPF) failed: {Errno.Describe(errno)}", errno);
            }
        }
        catch (ObjectDisposedException e)
        {
            throw new LinkAttachException(program.Name, target, "the socket or the program is closed", Errno.EBADF, e);
        }
        finally
        {
            if (added) socket.DangerousRelease();
        }
        return new SocketFilterLink(program, socket, target);
    }

    protected override unsafe void Detach()
    {
        bool added = false;
        try
        {
            _socket.DangerousAddRef(ref added);
            int unused = 0;
            NetlinkNative.SetSockOpt((int)_socket.DangerousGetHandle(), SolSocket, SoDetachBpf, &unused, sizeof(int));
        }
        catch (ObjectDisposedException) { }   // the socket is closed, and its filter with it
        finally
        {
            if (added) _socket.DangerousRelease();
        }
    }
}
