namespace BpfPS;

/// <summary>What one Invoke-BpfProgram run returned (BPF_PROG_TEST_RUN).</summary>
public sealed class BpfProgramRunResult
{
    /// <summary>The program's name.</summary>
    public required string Program { get; init; }
    /// <summary>The kernel's id for the program.</summary>
    public required uint ProgramId { get; init; }
    /// <summary>The program's return value (r0).</summary>
    public required uint ReturnValue { get; init; }
    /// <summary>What the return value means for this program type (e.g. XDP_PASS), or null.</summary>
    public string? Action { get; init; }
    /// <summary>Average time per run, in nanoseconds, as the kernel measured it.</summary>
    public required uint DurationNanoseconds { get; init; }
    /// <summary>How many times the program ran.</summary>
    public required uint Repeat { get; init; }
    /// <summary>The packet after the program ran (for packet programs), else empty.</summary>
    public required byte[] DataOut { get; init; }
    /// <summary>The context after the program ran, when one was given.</summary>
    public required byte[] ContextOut { get; init; }

    public override string ToString() => $"{Program}: {Action ?? ReturnValue.ToString()}";
}
