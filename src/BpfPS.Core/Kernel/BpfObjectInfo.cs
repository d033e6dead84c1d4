using System.Collections.Immutable;

namespace BpfPS.Core.Kernel;

/// <summary>What the kernel reports about a loaded program (struct bpf_prog_info).</summary>
public sealed record BpfProgramInfo
{
    public BpfProgramType Type { get; init; }
    public uint Id { get; init; }
    /// <summary>The program tag: 8 bytes (a hash of the instructions) as 16 lower-case hex digits, as bpftool prints it.</summary>
    public string Tag { get; init; } = "";
    public string Name { get; init; } = "";
    public uint JitedLength { get; init; }
    public uint XlatedLength { get; init; }
    /// <summary>Nanoseconds since boot when the program was loaded.</summary>
    public ulong LoadTime { get; init; }
    public uint CreatedByUid { get; init; }
    public ImmutableArray<uint> MapIds { get; init; } = ImmutableArray<uint>.Empty;
    public bool GplCompatible { get; init; }
    public uint BtfId { get; init; }
    /// <summary>Run statistics: non-zero only while BPF_ENABLE_STATS is in effect.</summary>
    public ulong RunTimeNanoseconds { get; init; }
    public ulong RunCount { get; init; }
    public ulong RecursionMisses { get; init; }
    public uint VerifiedInstructions { get; init; }
    public uint AttachBtfObjectId { get; init; }
    public uint AttachBtfId { get; init; }
    /// <summary>The instructions after the verifier's rewrites (only when asked for; map fds appear as map ids... as the kernel dumps them).</summary>
    public byte[]? XlatedInstructions { get; init; }
}

/// <summary>What the kernel reports about a map (struct bpf_map_info).</summary>
public sealed record BpfMapInfo
{
    public BpfMapType Type { get; init; }
    public uint Id { get; init; }
    public uint KeySize { get; init; }
    public uint ValueSize { get; init; }
    public uint MaxEntries { get; init; }
    public uint Flags { get; init; }
    public string Name { get; init; } = "";
    public uint IfIndex { get; init; }
    public uint BtfVmlinuxValueTypeId { get; init; }
    public uint BtfId { get; init; }
    public uint BtfKeyTypeId { get; init; }
    public uint BtfValueTypeId { get; init; }
    public ulong MapExtra { get; init; }
}

/// <summary>What the kernel reports about a BTF object (struct bpf_btf_info).</summary>
public sealed record BpfBtfInfo(uint Id, uint Size, string Name, bool IsKernel);

/// <summary>BPF_ENABLE_STATS types.</summary>
public enum BpfStatsType : uint { RunTime = 0 }
