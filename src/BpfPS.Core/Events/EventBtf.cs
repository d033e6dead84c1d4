using BpfPS.Core.Btf;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>
/// Where the types of a map's records live. Ring buffers and perf arrays carry no value type, so the BTF comes from a
/// program that uses the map: the kernel keeps the object's BTF with each program (bpf_prog_info.btf_id).
/// </summary>
public static class EventBtf
{
    /// <summary>
    /// The BTF of a program using the map with id <paramref name="mapId"/>, or null when no loaded program uses it or
    /// none has BTF.
    /// </summary>
    public static BtfSpec? FromProgramsUsing(uint mapId)
    {
        foreach (uint programId in BpfSyscall.ProgramIds())
        {
            BpfProgramInfo info;
            try
            {
                using var fd = BpfSyscall.ProgramGetFdById(programId);
                info = BpfSyscall.GetProgramInfo(fd);
            }
            catch (BpfSyscallException)
            {
                continue;   // unloaded meanwhile
            }
            if (info.BtfId == 0 || !info.MapIds.Contains(mapId)) continue;
            try
            {
                return BtfObjects.Load(info.BtfId);
            }
            catch (Exception e) when (e is BpfSyscallException or BpfFormatException)
            {
                // try the next program
            }
        }
        return null;
    }
}
