using System.Runtime.InteropServices;

namespace BpfPS.Core.Events;

/// <summary>The libc calls event readers need beyond bpf(2): mappings, epoll, eventfd (perf_event_open, ioctl and mount are Kernel.NativeMethods').</summary>
internal static unsafe partial class EventNative
{
    public const int ProtRead = 1, ProtWrite = 2, MapShared = 1;
    public const int EpollCloexec = 0x80000, EpollCtlAdd = 1, EpollIn = 1;
    public const int EfdCloexec = 0x80000, EfdNonblock = 0x800;
    public const int ORdonly = 0, ONonblock = 0x800, OCloexec = 0x80000;
    public const int FDupfdCloexec = 1030;
    public const int EINTR = 4, EAGAIN = 11;

    /// <summary>struct epoll_event is packed (12 bytes) on x86_64 and naturally aligned (16) elsewhere.</summary>
    public static readonly int EpollEventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;

    [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
    public static partial IntPtr Mmap(IntPtr address, nuint length, int protection, int flags, int fd, long offset);

    [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(IntPtr address, nuint length);

    [LibraryImport("libc", EntryPoint = "epoll_create1", SetLastError = true)]
    public static partial int EpollCreate1(int flags);

    [LibraryImport("libc", EntryPoint = "epoll_ctl", SetLastError = true)]
    public static partial int EpollCtl(int epoll, int operation, int fd, byte* evt);

    [LibraryImport("libc", EntryPoint = "epoll_wait", SetLastError = true)]
    public static partial int EpollWait(int epoll, byte* events, int maxEvents, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "eventfd", SetLastError = true)]
    public static partial int EventFd(uint initial, int flags);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    public static partial int Fcntl(int fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    public static int LastError => Marshal.GetLastPInvokeError();
}
