using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// BTF objects the kernel holds (BPF_BTF_GET_FD_BY_ID), read back as specs: how a map found by id or pin gets the
/// types of its keys and values without the object file it came from (what bpftool map dump does).
/// </summary>
public static unsafe class BtfObjects
{
    /// <summary>A user BTF object larger than this is refused rather than read (vmlinux itself is ~6 MB).</summary>
    private const uint MaxBytes = 256 * 1024 * 1024;

    /// <summary>
    /// The BTF object with kernel id <paramref name="btfId"/>: vmlinux and module BTF come from /sys/kernel/btf (shared),
    /// BTF loaded by a program or map owner is copied out of the kernel and parsed.
    /// </summary>
    /// <exception cref="BpfSyscallException">No such BTF object (ENOENT), or no permission.</exception>
    /// <exception cref="BpfFormatException">The kernel returned BTF this parser refuses.</exception>
    public static BtfSpec Load(uint btfId)
    {
        using var fd = BpfSyscall.BtfGetFdById(btfId);
        var info = BpfSyscall.GetBtfInfo(fd);
        if (info.IsKernel)
        {
            var vmlinux = KernelBtf.GetVmlinux();
            return info.Name is "" or "vmlinux" ? vmlinux : KernelBtf.LoadModule(info.Name, vmlinux);
        }
        if (info.Size > MaxBytes)
            throw new BpfFormatException($"BTF object {btfId} is {info.Size} bytes, more than the {MaxBytes} this reader accepts", $"btf id {btfId}");
        return BtfSpec.Parse(ReadRaw(fd, info.Size), $"btf id {btfId}");
    }

    /// <summary>The raw bytes of a BTF object (BPF_OBJ_GET_INFO_BY_FD with a buffer).</summary>
    private static byte[] ReadRaw(BpfFd btf, uint size)
    {
        var bytes = new byte[size];
        uint written;
        using (var lease = btf.Lease())
        fixed (byte* p = bytes)
        {
            var info = new BtfInfoWire { Btf = BpfSyscall.Address(p), BtfSize = size };
            var attr = new InfoAttr { BpfFd = (uint)lease.Value, InfoLen = (uint)sizeof(BtfInfoWire), Info = BpfSyscall.Address(&info) };
            BpfSyscall.InvokeChecked(BpfCommand.ObjGetInfoByFd, ref attr);
            written = info.BtfSize;
        }
        // The kernel reports the object's size; it cannot have grown (BTF objects are immutable).
        return written < size ? bytes[..(int)written] : bytes;
    }
}
