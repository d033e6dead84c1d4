namespace BpfPS.Core.Maps;

/// <summary>How <see cref="MapEntries.Enumerate"/> walks a map.</summary>
public enum MapIterationMode
{
    /// <summary>Batches for large maps of types that support them, falling back to key by key when the kernel refuses.</summary>
    Auto,
    /// <summary>BPF_MAP_LOOKUP_BATCH only (fails where the kernel does not support it).</summary>
    Batch,
    /// <summary>BPF_MAP_GET_NEXT_KEY then BPF_MAP_LOOKUP_ELEM per key: two syscalls an entry, works on every map with keys.</summary>
    KeyByKey,
}
