using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// Minimal maps for the map-type probes: the smallest definition each type accepts (key/value sizes, flags, an inner
/// map, BTF for local storage, a kernel struct_ops value type), as libbpf's probes define them.
/// </summary>
internal static class MapProbes
{
    // enum bpf_map_type numbers beyond the library's 6.1 enum.
    private const uint CgrpStorage = 32, Arena = 33;
    private const uint NoPrealloc = 1, Mmapable = 1 << 10;   // BPF_F_NO_PREALLOC, BPF_F_MMAPABLE

    internal static ProbeResult Probe(uint type, BtfSpec? kernel, UapiNames names)
    {
        var name = names.MapTypeName(type);
        uint key = 4, value = 4, max = 1, flags = 0, vmlinuxValue = 0;
        bool needsBtf = false, needsInner = false;
        switch ((BpfMapType)type)
        {
            case BpfMapType.LpmTrie: key = 8; value = 8; flags = NoPrealloc; break;
            case BpfMapType.StackTrace: value = 8; break;
            case BpfMapType.CgroupStorage or BpfMapType.PercpuCgroupStorage: key = 16; max = 0; break;   // struct bpf_cgroup_storage_key
            case BpfMapType.Queue or BpfMapType.Stack or BpfMapType.BloomFilter: key = 0; break;
            case BpfMapType.Ringbuf or BpfMapType.UserRingbuf: key = 0; value = 0; max = (uint)Environment.SystemPageSize; break;
            case BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps: needsInner = true; break;
            case BpfMapType.SkStorage or BpfMapType.InodeStorage or BpfMapType.TaskStorage: flags = NoPrealloc; max = 0; needsBtf = true; break;
            case BpfMapType.StructOps:
                var ops = StructOpsValueType(kernel);
                if (ops.Id == 0) return ProbeResult.No("kernel BTF has no bpf_struct_ops_tcp_congestion_ops value type to create one with");
                vmlinuxValue = ops.Id; value = ops.Size; needsBtf = true;
                break;
        }
        if (type == CgrpStorage) { flags = NoPrealloc; max = 0; needsBtf = true; }
        if (type == Arena) { key = 0; value = 0; flags = Mmapable; }

        BpfFd? inner = null, btf = null;
        try
        {
            if (needsInner) inner = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1);
            if (needsBtf) btf = BpfSyscall.BtfLoad(TinyBtf.IntOnly());
            using var fd = BpfSyscall.MapCreate((BpfMapType)type, key, value, max, flags, innerMap: inner, btf: btf,
                btfKeyTypeId: needsBtf && vmlinuxValue == 0 ? 1u : 0, btfValueTypeId: needsBtf && vmlinuxValue == 0 ? 1u : 0,
                btfVmlinuxValueTypeId: vmlinuxValue);
            return ProbeResult.Yes($"a minimal {name} map can be created");
        }
        catch (BpfSyscallException e)
        {
            return ProbeResult.No(ProgramProbes.Refusal(e), e.ErrorNumber);
        }
        finally
        {
            inner?.Dispose();
            btf?.Dispose();
        }
    }

    private static (uint Id, uint Size) StructOpsValueType(BtfSpec? kernel)
    {
        if (kernel is null) return (0, 0);
        foreach (var id in kernel.FindByName("bpf_struct_ops_tcp_congestion_ops"))
            if (kernel.GetKind(id) == BtfKind.Struct) return (id, kernel.SizeOf(id));
        return (0, 0);
    }
}
