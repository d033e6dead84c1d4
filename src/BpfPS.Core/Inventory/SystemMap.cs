using System.Collections.Immutable;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>A map in the kernel, as <c>bpftool map show</c> lists it.</summary>
public sealed record SystemMap
{
    public uint Id { get; init; }
    public string Name { get; init; } = "";
    public BpfMapType Type { get; init; }
    public uint KeySize { get; init; }
    public uint ValueSize { get; init; }
    public uint MaxEntries { get; init; }
    public uint Flags { get; init; }
    /// <summary>The BTF object holding the key/value types (0 without BTF).</summary>
    public uint BtfId { get; init; }
    public uint BtfKeyTypeId { get; init; }
    public uint BtfValueTypeId { get; init; }
    /// <summary>Paths on bpffs where the map is pinned (empty when none or not looked for).</summary>
    public ImmutableArray<string> PinnedPaths { get; init; } = ImmutableArray<string>.Empty;
    /// <summary>Everything the kernel reported.</summary>
    public required BpfMapInfo Info { get; init; }

    internal static SystemMap From(BpfMapInfo info, ImmutableArray<string> pins) => new()
    {
        Id = info.Id,
        Name = info.Name,
        Type = info.Type,
        KeySize = info.KeySize,
        ValueSize = info.ValueSize,
        MaxEntries = info.MaxEntries,
        Flags = info.Flags,
        BtfId = info.BtfId,
        BtfKeyTypeId = info.BtfKeyTypeId,
        BtfValueTypeId = info.BtfValueTypeId,
        PinnedPaths = pins,
        Info = info,
    };

    public override string ToString() => $"{Id}: {Type} '{Name}' key {KeySize}B value {ValueSize}B max {MaxEntries}";
}
