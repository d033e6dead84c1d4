using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>
/// One mmap of a kernel object, unmapped exactly once when the last user lets go: readers add a reference around every
/// access (<see cref="SafeHandle.DangerousAddRef"/>), so a Dispose from another thread never unmaps memory being read.
/// </summary>
internal sealed class MappedRegion : SafeHandle
{
    private MappedRegion(IntPtr address, nuint length) : base(new IntPtr(-1), true)
    {
        SetHandle(address);
        Length = length;
    }

    public nuint Length { get; }

    public override bool IsInvalid => handle == new IntPtr(-1) || handle == IntPtr.Zero;

    public unsafe byte* Pointer => (byte*)handle;

    /// <summary>Maps <paramref name="length"/> bytes of <paramref name="fd"/> at <paramref name="offset"/>, shared.</summary>
    /// <exception cref="BpfEventException">The kernel refused the mapping.</exception>
    public static MappedRegion Map(BpfFd fd, nuint length, bool writable, long offset, string what)
    {
        using var lease = fd.Lease();
        var address = EventNative.Mmap(IntPtr.Zero, length, EventNative.ProtRead | (writable ? EventNative.ProtWrite : 0),
            EventNative.MapShared, lease.Value, offset);
        if (address == new IntPtr(-1))
            throw new BpfEventException($"{what}: mmap of {length} bytes at offset {offset} failed: {Errno.Describe(EventNative.LastError)}");
        return new MappedRegion(address, length);
    }

    protected override bool ReleaseHandle() => EventNative.Munmap(handle, Length) == 0;
}
