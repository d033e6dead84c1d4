using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>The shape a map is created with, after libbpf's adjustments (perf array size, ring buffer rounding).</summary>
internal readonly record struct MapDefinition(BpfMapType Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags, ulong MapExtra)
{
    /// <summary>The definition libbpf would create for <paramref name="spec"/>.</summary>
    public static MapDefinition For(MapSpec spec)
    {
        uint maxEntries = spec.MaxEntries;
        if (spec.Type == BpfMapType.PerfEventArray && maxEntries == 0) maxEntries = (uint)PossibleCpus.Count;
        if (spec.Type is BpfMapType.Ringbuf or BpfMapType.UserRingbuf) maxEntries = RoundRingBuffer(maxEntries, (uint)Environment.SystemPageSize);
        return new MapDefinition(spec.Type, spec.KeySize, spec.ValueSize, maxEntries, spec.Flags, spec.MapExtra);
    }

    /// <summary>libbpf adjust_ringbuf_sz: the smallest page-size-times-power-of-two not below the request (0 stays 0).</summary>
    internal static uint RoundRingBuffer(uint size, uint pageSize)
    {
        if (size == 0) return 0;
        if (size % pageSize == 0 && uint.IsPow2(size / pageSize)) return size;
        for (ulong multiple = 1; multiple * pageSize <= uint.MaxValue; multiple <<= 1)
            if (multiple * pageSize > size) return (uint)(multiple * pageSize);
        return size;
    }
}

/// <summary>LIBBPF_PIN_BY_NAME: where a map is pinned, and whether an existing pin may be reused.</summary>
internal static class Pinning
{
    /// <summary>&lt;pin root&gt;/&lt;map name&gt;, as libbpf composes it.</summary>
    public static string PathFor(MapSpec map, string? pinRoot) => Path.Combine(pinRoot ?? BpfFileSystem.DefaultPinRoot, map.Name);

    /// <summary>
    /// Why the pinned map cannot stand in for <paramref name="wanted"/> (libbpf map_is_reuse_compat compares type, key and
    /// value size, max entries, flags and map_extra), or null when it can.
    /// </summary>
    public static string? Incompatibility(BpfMapInfo pinned, MapDefinition wanted)
    {
        var differences = new List<string>();
        if (pinned.Type != wanted.Type) differences.Add($"type {pinned.Type} (want {wanted.Type})");
        if (pinned.KeySize != wanted.KeySize) differences.Add($"key size {pinned.KeySize} (want {wanted.KeySize})");
        if (pinned.ValueSize != wanted.ValueSize) differences.Add($"value size {pinned.ValueSize} (want {wanted.ValueSize})");
        if (pinned.MaxEntries != wanted.MaxEntries) differences.Add($"max entries {pinned.MaxEntries} (want {wanted.MaxEntries})");
        if (pinned.Flags != wanted.Flags) differences.Add($"flags 0x{pinned.Flags:x} (want 0x{wanted.Flags:x})");
        if (pinned.MapExtra != wanted.MapExtra) differences.Add($"map_extra {pinned.MapExtra} (want {wanted.MapExtra})");
        return differences.Count == 0 ? null : string.Join(", ", differences);
    }
}
