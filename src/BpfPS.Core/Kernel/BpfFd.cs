using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

/// <summary>
/// A file descriptor for a kernel BPF object (map, program, BTF, link, pin) that is closed exactly once when released.
/// Unlike SafeHandleZeroOrMinusOneIsInvalid, fd 0 is a valid descriptor; only -1 is invalid.
/// </summary>
public sealed class BpfFd : SafeHandle
{
    /// <summary>Takes ownership of <paramref name="fd"/> (closed on dispose) unless <paramref name="ownsHandle"/> is false.</summary>
    public BpfFd(int fd, bool ownsHandle = true) : base(new IntPtr(-1), ownsHandle) => SetHandle(new IntPtr(fd));

    public override bool IsInvalid => handle == new IntPtr(-1);

    /// <summary>The descriptor number. Valid only while the handle is open; prefer <see cref="Lease"/> around syscalls.</summary>
    public int Value => (int)handle;

    /// <summary>
    /// Keeps the descriptor from being closed while a syscall uses its number (guards against a concurrent Dispose
    /// closing it and the number being reused for an unrelated file).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The descriptor was already closed.</exception>
    public FdLease Lease() => new(this);

    protected override bool ReleaseHandle() => NativeMethods.Close((int)handle) == 0;

    public override string ToString() => IsClosed ? "fd (closed)" : $"fd {Value}";
}

/// <summary>A reference on a <see cref="BpfFd"/> held for the duration of one syscall.</summary>
public ref struct FdLease
{
    private BpfFd? _fd;

    internal FdLease(BpfFd fd)
    {
        bool added = false;
        fd.DangerousAddRef(ref added);
        _fd = fd;
        Value = fd.Value;
    }

    /// <summary>The descriptor number, safe to pass to the kernel until the lease is disposed.</summary>
    public int Value { get; }

    public void Dispose()
    {
        _fd?.DangerousRelease();
        _fd = null;
    }
}
