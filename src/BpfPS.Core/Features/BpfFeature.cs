namespace BpfPS.Core.Features;

/// <summary>What a feature probe answers about.</summary>
public enum FeatureCategory
{
    /// <summary>A program type loads (BPF_PROG_LOAD of a minimal program).</summary>
    ProgramType,
    /// <summary>A map type can be created (BPF_MAP_CREATE of a minimal map).</summary>
    MapType,
    /// <summary>A program type accepts an expected attach type at load time.</summary>
    AttachType,
    /// <summary>BPF_LINK_CREATE knows a kind of link (probed with a deliberately invalid target).</summary>
    LinkType,
    /// <summary>A helper function may be called from a program type.</summary>
    Helper,
    /// <summary>A kernel function callable from BPF, as tagged in kernel BTF.</summary>
    Kfunc,
    /// <summary>A BTF kind the kernel accepts in BPF_BTF_LOAD.</summary>
    BtfKind,
    /// <summary>A verifier or syscall capability (instruction limit, bounded loops, ISA versions, tokens...).</summary>
    Misc,
    /// <summary>A sysctl that governs BPF (JIT, hardening, unprivileged use).</summary>
    SystemConfig,
    /// <summary>A file system BPF work needs (bpffs, tracefs, cgroup2), and where it is mounted.</summary>
    Mount,
}

/// <summary>
/// One answer about the running kernel. <see cref="Supported"/> says whether the feature can be used here;
/// <see cref="Detail"/> says how that was established, or why not (the kernel's errno or verifier message).
/// </summary>
public sealed record BpfFeature
{
    public required FeatureCategory Category { get; init; }
    /// <summary>The feature's name as the kernel spells it (lower case, without the uapi prefix): "xdp", "ringbuf", "bpf_redirect".</summary>
    public required string Name { get; init; }
    public required bool Supported { get; init; }
    /// <summary>How the answer was found, or the reason it is negative.</summary>
    public string Detail { get; init; } = "";
    /// <summary>The program type a helper or attach type was probed with; null for other categories.</summary>
    public string? ProgramType { get; init; }
    /// <summary>The uapi number (type, helper id, BTF kind, BTF type id of a kfunc); null when there is none.</summary>
    public long? Id { get; init; }
    /// <summary>The raw value of a setting (sysctl text, mount points), when there is one.</summary>
    public string? Value { get; init; }

    public override string ToString() =>
        ProgramType is null ? $"{Category} {Name}: {(Supported ? "yes" : "no")}" : $"{Category} {ProgramType}/{Name}: {(Supported ? "yes" : "no")}";
}

/// <summary>
/// What one probe found: the verdict and the evidence. <see cref="Transient"/> marks a failure that says nothing about
/// the feature (out of memory or descriptors), which is not remembered.
/// </summary>
public readonly record struct ProbeResult(bool Supported, string Detail, bool Transient = false)
{
    public static ProbeResult Yes(string detail) => new(true, detail);
    public static ProbeResult No(string detail) => new(false, detail);

    /// <summary>A refusal, transient when the errno is about resources rather than the feature.</summary>
    internal static ProbeResult No(string detail, int errno) =>
        new(false, detail, errno is Kernel.Errno.ENOMEM or Kernel.Errno.EMFILE or Kernel.Errno.EAGAIN or Kernel.Errno.EINTR or 23 /* ENFILE */);
}
