using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

/// <summary>The few libc entry points the kernel layer needs. Everything else goes through bpf(2).</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>__NR_bpf on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl).</summary>
    public const long SysBpfX64 = 321;
    /// <summary>__NR_bpf on aarch64 (include/uapi/asm-generic/unistd.h).</summary>
    public const long SysBpfArm64 = 280;

    public static readonly long SysBpf = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => SysBpfX64,
        Architecture.Arm64 => SysBpfArm64,
        _ => -1,
    };

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, long command, void* attr, long size);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "statfs", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int StatFs(string path, void* buffer);
}
