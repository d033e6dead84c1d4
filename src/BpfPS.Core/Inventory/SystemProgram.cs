using System.Collections.Immutable;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>A program loaded in the kernel, as <c>bpftool prog show</c> lists it.</summary>
public sealed record SystemProgram
{
    public uint Id { get; init; }
    public string Name { get; init; } = "";
    public BpfProgramType Type { get; init; }
    /// <summary>The kernel's tag (hash of the instructions), 16 hex digits.</summary>
    public string Tag { get; init; } = "";
    /// <summary>When the program was loaded, local time.</summary>
    public DateTime LoadedAt { get; init; }
    /// <summary>Runs counted while BPF statistics are enabled (BPF_ENABLE_STATS or kernel.bpf_stats_enabled), else 0.</summary>
    public ulong RunCount { get; init; }
    /// <summary>Time spent running, counted like <see cref="RunCount"/>.</summary>
    public TimeSpan RunTime { get; init; }
    public ImmutableArray<uint> MapIds { get; init; } = ImmutableArray<uint>.Empty;
    /// <summary>The program's BTF object id (0 without BTF).</summary>
    public uint BtfId { get; init; }
    public uint CreatedByUid { get; init; }
    public bool GplCompatible { get; init; }
    public uint JitedLength { get; init; }
    public uint XlatedLength { get; init; }
    public uint VerifiedInstructions { get; init; }
    /// <summary>Paths on bpffs where the program is pinned (empty when none or not looked for).</summary>
    public ImmutableArray<string> PinnedPaths { get; init; } = ImmutableArray<string>.Empty;
    /// <summary>Everything the kernel reported.</summary>
    public required BpfProgramInfo Info { get; init; }

    /// <summary>Average time per run, when any runs were counted.</summary>
    public TimeSpan? AverageRunTime => RunCount == 0 ? null : RunTime / RunCount;

    internal static SystemProgram From(BpfProgramInfo info, DateTime bootTimeUtc, ImmutableArray<string> pins) => new()
    {
        Id = info.Id,
        Name = info.Name,
        Type = info.Type,
        Tag = info.Tag,
        LoadedAt = BootClock.ToLocalTime(info.LoadTime, bootTimeUtc),
        RunCount = info.RunCount,
        RunTime = TimeSpan.FromTicks((long)(info.RunTimeNanoseconds / 100)),
        MapIds = info.MapIds,
        BtfId = info.BtfId,
        CreatedByUid = info.CreatedByUid,
        GplCompatible = info.GplCompatible,
        JitedLength = info.JitedLength,
        XlatedLength = info.XlatedLength,
        VerifiedInstructions = info.VerifiedInstructions,
        PinnedPaths = pins,
        Info = info,
    };

    public override string ToString() => $"{Id}: {Type} '{Name}' tag {Tag}";
}
