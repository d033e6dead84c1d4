using BpfPS.Core.Kernel;

namespace BpfPS.Core.Maps;

/// <summary>What each map type allows from user space (kernel/bpf/*.c map ops), checked before any syscall.</summary>
public static class MapKinds
{
    /// <summary>Values hold one slot per possible CPU, each rounded up to 8 bytes.</summary>
    public static bool IsPerCpu(BpfMapType type) =>
        type is BpfMapType.PercpuHash or BpfMapType.PercpuArray or BpfMapType.LruPercpuHash or BpfMapType.PercpuCgroupStorage;

    /// <summary>Every index exists from creation and entries cannot be deleted, only overwritten.</summary>
    public static bool IsArray(BpfMapType type) => type is BpfMapType.Array or BpfMapType.PercpuArray;

    /// <summary>Keys are 32-bit indexes: arrays, and the array forms of prog, perf event, cgroup and map-in-map maps.</summary>
    public static bool IsIndexed(BpfMapType type) =>
        type is BpfMapType.Array or BpfMapType.PercpuArray or BpfMapType.ProgArray or BpfMapType.PerfEventArray
            or BpfMapType.CgroupArray or BpfMapType.ArrayOfMaps;

    /// <summary>Maps without keys to look up (push/pop or ring buffers, bloom filters).</summary>
    public static bool HasKeys(BpfMapType type) =>
        type is not (BpfMapType.Queue or BpfMapType.Stack or BpfMapType.Ringbuf or BpfMapType.UserRingbuf or BpfMapType.BloomFilter);

    /// <summary>Types whose map ops implement BPF_MAP_LOOKUP_BATCH and BPF_MAP_UPDATE_BATCH (hash tables and plain arrays).</summary>
    public static bool SupportsBatch(BpfMapType type) =>
        type is BpfMapType.Hash or BpfMapType.LruHash or BpfMapType.PercpuHash or BpfMapType.LruPercpuHash
            or BpfMapType.Array or BpfMapType.PercpuArray;
}
