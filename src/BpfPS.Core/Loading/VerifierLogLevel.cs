namespace BpfPS.Core.Loading;

/// <summary>How much the verifier should say (BPF_PROG_LOAD log_level bits).</summary>
[Flags]
public enum VerifierLogLevel : uint
{
    /// <summary>No log on success; on failure the load is retried with <see cref="Basic"/> to explain it (as libbpf does).</summary>
    None = 0,
    Basic = 1,
    Verbose = 2,
    /// <summary>Verification statistics (instructions processed, states, time).</summary>
    Stats = 4,
}
