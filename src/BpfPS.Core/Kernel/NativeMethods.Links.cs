using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

// libc entry points the attach mechanisms need beyond bpf(2): perf events, their ioctls, stat for inode numbers,
// mount for tracefs, read for iterators.
internal static unsafe partial class NativeMethods
{
    /// <summary>__NR_perf_event_open on x86_64 and aarch64.</summary>
    public static readonly long SysPerfEventOpen = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 298,
        Architecture.Arm64 => 241,
        _ => -1,
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall5(long number, void* attr, long pid, long cpu, long groupFd, long flags);

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    public static partial int Ioctl(int fd, ulong request, long argument);

    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nint count);

    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Mount(string source, string target, string fileSystemType, ulong flags, nint data);

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Stat(string path, byte* buffer);
}
