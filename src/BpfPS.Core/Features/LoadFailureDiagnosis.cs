using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// Turns the kernel's terse refusal of a program or map into "this kernel cannot load program type X" when a probe
/// confirms it: the verifier's EINVAL for an unknown program type says nothing about the type. Asked only after a
/// failure, and only for the errnos a missing type produces, so a successful load never pays for a probe.
/// </summary>
public static class LoadFailureDiagnosis
{
    /// <summary>What a kernel answers when it does not know a type or has it compiled out.</summary>
    public static bool MayMeanUnsupported(int errno) => errno is Errno.EINVAL or Errno.E2BIG or Errno.EOPNOTSUPP or Errno.ENOTSUPP;

    /// <summary>A sentence naming the program type when a minimal program of it does not load either; else null.</summary>
    public static string? ExplainProgramLoad(BpfProgramType type, int errno, KernelFeatureSet? features = null)
    {
        if (!MayMeanUnsupported(errno)) return null;
        var feature = Probe(() => (features ?? KernelFeatureSet.Shared).ProgramType((uint)type));
        return feature is { Supported: false }
            ? $"this kernel cannot load program type {feature.Name} (a minimal {feature.Name} program is refused too: {feature.Detail})"
            : null;
    }

    /// <summary>A sentence naming the map type when a minimal map of it cannot be created either; else null.</summary>
    public static string? ExplainMapCreate(BpfMapType type, int errno, KernelFeatureSet? features = null)
    {
        if (!MayMeanUnsupported(errno)) return null;
        var feature = Probe(() => (features ?? KernelFeatureSet.Shared).MapType((uint)type));
        return feature is { Supported: false }
            ? $"this kernel cannot create map type {feature.Name} (a minimal {feature.Name} map is refused too: {feature.Detail})"
            : null;
    }

    /// <summary>A probe that cannot run (no bpf() at all, no BTF) must not hide the original error.</summary>
    private static BpfFeature? Probe(Func<BpfFeature> probe)
    {
        try { return probe(); }
        catch (Exception e) when (e is BpfSyscallException or IOException or UnauthorizedAccessException or BpfFormatException or PlatformNotSupportedException) { return null; }
    }
}
