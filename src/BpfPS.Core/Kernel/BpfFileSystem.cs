namespace BpfPS.Core.Kernel;

/// <summary>Facts about bpffs, where objects are pinned.</summary>
public static unsafe class BpfFileSystem
{
    /// <summary>BPF_FS_MAGIC from include/uapi/linux/magic.h.</summary>
    public const long Magic = 0xcafe4a11;

    /// <summary>Where libbpf pins LIBBPF_PIN_BY_NAME maps by default.</summary>
    public const string DefaultPinRoot = "/sys/fs/bpf";

    /// <summary>True when <paramref name="path"/> is on a mounted bpffs (statfs f_type is BPF_FS_MAGIC).</summary>
    public static bool IsBpfFs(string path)
    {
        // struct statfs is 120 bytes on 64-bit Linux; f_type is its first field (a long). Oversize the buffer.
        long* buffer = stackalloc long[32];
        if (NativeMethods.StatFs(path, buffer) != 0) return false;
        return buffer[0] == Magic;
    }
}
