namespace BpfPS.Core.Kernel;

/// <summary>
/// Linux errno values the kernel layer reacts to, and a strerror-like table so messages read the same on every libc
/// (and name the symbol, which is what people search for).
/// </summary>
public static class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EINTR = 4;
    public const int EBADF = 9;
    public const int EAGAIN = 11;
    public const int ENOMEM = 12;
    public const int EACCES = 13;
    public const int EFAULT = 14;
    public const int EBUSY = 16;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int E2BIG = 7;
    public const int EMFILE = 24;
    public const int ENOSPC = 28;
    public const int ERANGE = 34;
    public const int ENOSYS = 38;
    public const int EOPNOTSUPP = 95;
    /// <summary>Kernel-internal "not supported" that leaks out of some BPF paths (include/linux/errno.h).</summary>
    public const int ENOTSUPP = 524;

    private static readonly Dictionary<int, (string Name, string Text)> Table = new()
    {
        [1] = ("EPERM", "Operation not permitted"),
        [2] = ("ENOENT", "No such file or directory"),
        [3] = ("ESRCH", "No such process"),
        [4] = ("EINTR", "Interrupted system call"),
        [5] = ("EIO", "Input/output error"),
        [7] = ("E2BIG", "Argument list too long"),
        [9] = ("EBADF", "Bad file descriptor"),
        [11] = ("EAGAIN", "Resource temporarily unavailable"),
        [12] = ("ENOMEM", "Cannot allocate memory"),
        [13] = ("EACCES", "Permission denied"),
        [14] = ("EFAULT", "Bad address"),
        [16] = ("EBUSY", "Device or resource busy"),
        [17] = ("EEXIST", "File exists"),
        [18] = ("EXDEV", "Invalid cross-device link"),
        [19] = ("ENODEV", "No such device"),
        [20] = ("ENOTDIR", "Not a directory"),
        [22] = ("EINVAL", "Invalid argument"),
        [23] = ("ENFILE", "Too many open files in system"),
        [24] = ("EMFILE", "Too many open files"),
        [27] = ("EFBIG", "File too large"),
        [28] = ("ENOSPC", "No space left on device"),
        [30] = ("EROFS", "Read-only file system"),
        [34] = ("ERANGE", "Numerical result out of range"),
        [36] = ("ENAMETOOLONG", "File name too long"),
        [38] = ("ENOSYS", "Function not implemented"),
        [39] = ("ENOTEMPTY", "Directory not empty"),
        [40] = ("ELOOP", "Too many levels of symbolic links"),
        [61] = ("ENODATA", "No data available"),
        [75] = ("EOVERFLOW", "Value too large for defined data type"),
        [95] = ("EOPNOTSUPP", "Operation not supported"),
        [110] = ("ETIMEDOUT", "Connection timed out"),
        [524] = ("ENOTSUPP", "Operation is not supported"),
    };

    /// <summary>The symbolic name ("EINVAL"), or "errno N" when unknown.</summary>
    public static string Name(int errno) => Table.TryGetValue(errno, out var e) ? e.Name : $"errno {errno}";

    /// <summary>"EINVAL (Invalid argument)".</summary>
    public static string Describe(int errno) =>
        Table.TryGetValue(errno, out var e) ? $"{e.Name} ({e.Text})" : $"errno {errno} ({System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})";

    /// <summary>True for the errnos the kernel uses when the caller lacks privileges.</summary>
    public static bool IsPermissionDenied(int errno) => errno is EPERM or EACCES;
}
