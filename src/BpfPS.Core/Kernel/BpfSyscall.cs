using System.Diagnostics;
using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

/// <summary>
/// Typed wrappers over the bpf(2) syscall. Every call goes through <see cref="Invoke{T}"/>, which is where time is
/// measured (<see cref="SyscallStats"/>) and faults are injected (<see cref="BpfFaultInjection"/>).
/// Descriptors come back as <see cref="BpfFd"/>; failures as <see cref="BpfSyscallException"/>.
/// </summary>
public static unsafe partial class BpfSyscall
{
    private static readonly Lazy<string?> s_unavailableReason = new(ProbeAvailability);

    /// <summary>True when this process may create BPF maps (root or CAP_BPF, and a kernel with bpf()).</summary>
    public static bool IsAvailable => s_unavailableReason.Value is null;

    /// <summary>Why <see cref="IsAvailable"/> is false (null when it is true): for test skips and error messages.</summary>
    public static string? UnavailableReason => s_unavailableReason.Value;

    /// <summary>
    /// Issues one bpf() command. Returns the syscall's result (a new fd, or 0) or -1 with <paramref name="errno"/> set.
    /// The attr struct is passed whole, so the kernel sees zeroes in every field the caller left unset.
    /// </summary>
    internal static int Invoke<T>(BpfCommand command, ref T attr, out int errno) where T : unmanaged
    {
        var stats = SyscallStats.Current;
        long start = Stopwatch.GetTimestamp();
        if (BpfFaultInjection.Intercept(command) is int injected)
        {
            stats.Record(command, start, start);
            errno = injected;
            return -1;
        }
        if (NativeMethods.SysBpf < 0)
            throw new PlatformNotSupportedException($"bpf() syscall number unknown for {RuntimeInformation.ProcessArchitecture}");

        long result;
        fixed (T* p = &attr)
            result = NativeMethods.Syscall(NativeMethods.SysBpf, (long)command, p, sizeof(T));
        errno = result < 0 ? Marshal.GetLastPInvokeError() : 0;
        stats.Record(command, start, Stopwatch.GetTimestamp());
        return (int)result;
    }

    /// <summary><see cref="Invoke{T}"/>, throwing on failure.</summary>
    internal static int InvokeChecked<T>(BpfCommand command, ref T attr, string? detail = null) where T : unmanaged
    {
        int result = Invoke(command, ref attr, out int errno);
        if (result < 0) throw new BpfSyscallException(command, errno, detail);
        return result;
    }

    /// <summary>Wraps a new descriptor returned by the kernel.</summary>
    internal static BpfFd Own(int fd) => new(fd);

    internal static ulong Address(void* p) => (ulong)p;

    /// <summary>Writes <paramref name="name"/> as a NUL-terminated object name, truncated to 15 bytes like libbpf.</summary>
    internal static void WriteObjectName(byte* destination, string? name)
    {
        if (string.IsNullOrEmpty(name)) return;
        var span = new Span<byte>(destination, BpfAttr.ObjectNameLength);
        span.Clear();
        int written = System.Text.Encoding.UTF8.GetBytes(name.AsSpan(0, Math.Min(name.Length, BpfAttr.ObjectNameLength - 1)), span[..(BpfAttr.ObjectNameLength - 1)]);
        span[written] = 0;
    }

    internal static string ReadObjectName(byte* source)
    {
        var span = new ReadOnlySpan<byte>(source, BpfAttr.ObjectNameLength);
        int end = span.IndexOf((byte)0);
        return System.Text.Encoding.UTF8.GetString(end < 0 ? span : span[..end]);
    }

    private static string? ProbeAvailability()
    {
        if (!OperatingSystem.IsLinux()) return "bpf() exists only on Linux";
        if (NativeMethods.SysBpf < 0) return $"bpf() syscall number unknown for {RuntimeInformation.ProcessArchitecture}";
        var attr = new MapCreateAttr { MapType = (uint)BpfMapType.Array, KeySize = 4, ValueSize = 4, MaxEntries = 1 };
        long result;
        try
        {
            result = NativeMethods.Syscall(NativeMethods.SysBpf, (long)BpfCommand.MapCreate, &attr, sizeof(MapCreateAttr));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"libc syscall() not reachable: {e.Message}";
        }
        if (result < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            return Errno.IsPermissionDenied(errno)
                ? $"bpf() refused with {Errno.Describe(errno)}: {BpfSyscallException.PermissionHint}"
                : $"bpf() unavailable: {Errno.Describe(errno)}";
        }
        NativeMethods.Close((int)result);
        return null;
    }
}
