using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Links;

/// <summary>Inode numbers of files (a cgroup v2 directory's inode number is its cgroup id).</summary>
internal static unsafe class Inodes
{
    /// <summary>st_ino of <paramref name="path"/>.</summary>
    /// <exception cref="IOException">stat() failed.</exception>
    public static ulong Of(string path)
    {
        // struct stat is 144 bytes on x86_64 and 128 on aarch64; both start with st_dev then st_ino (8 bytes each).
        byte* buffer = stackalloc byte[256];
        if (NativeMethods.Stat(path, buffer) != 0)
            throw new IOException($"stat {path}: {Errno.Describe(Marshal.GetLastPInvokeError())}");
        return *(ulong*)(buffer + 8);
    }
}
