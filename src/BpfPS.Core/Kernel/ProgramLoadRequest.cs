using BpfPS.Core.Asm;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Kernel;

/// <summary>Everything BPF_PROG_LOAD takes. Descriptors are borrowed: the caller keeps owning them.</summary>
public sealed class ProgramLoadRequest
{
    public required BpfProgramType Type { get; init; }
    public required ReadOnlyMemory<BpfInstruction> Instructions { get; init; }
    public string License { get; init; } = "";
    /// <summary>Name shown by the kernel; truncated to 15 bytes.</summary>
    public string? Name { get; init; }
    public BpfAttachType ExpectedAttachType { get; init; }
    public uint Flags { get; init; }
    public uint KernelVersion { get; init; }
    /// <summary>1 basic, 2 verbose, 4 statistics (combinable). 0: no log unless <see cref="RetryWithLogOnFailure"/>.</summary>
    public uint LogLevel { get; init; }
    /// <summary>Initial log buffer; doubled on ENOSPC up to <see cref="BpfSyscall.MaxLogSize"/>.</summary>
    public uint LogSize { get; init; } = BpfSyscall.DefaultLogSize;
    /// <summary>Like libbpf: when a load without a log fails, load again with log level 1 to say why.</summary>
    public bool RetryWithLogOnFailure { get; init; } = true;
    /// <summary>The object's BTF (for func_info/line_info).</summary>
    public BpfFd? ProgramBtf { get; init; }
    public ReadOnlyMemory<BtfFuncInfo> FuncInfos { get; init; }
    public ReadOnlyMemory<BtfLineInfo> LineInfos { get; init; }
    /// <summary>Kernel BTF type the program attaches to (fentry/fexit/tp_btf/lsm/iter).</summary>
    public uint AttachBtfId { get; init; }
    /// <summary>Module BTF holding <see cref="AttachBtfId"/>; null for vmlinux.</summary>
    public BpfFd? AttachBtfObject { get; init; }
    /// <summary>fd_array for kfunc calls into module BTF (insn.off indexes it).</summary>
    public ReadOnlyMemory<int> FdArray { get; init; }
}

/// <summary>A loaded program's descriptor and the verifier log, when one was requested.</summary>
public readonly record struct ProgramLoadResult(BpfFd Fd, string? VerifierLog);

/// <summary>What BPF_PROG_TEST_RUN reports.</summary>
public readonly record struct ProgramTestRunResult(uint ReturnValue, uint DurationNanoseconds, int DataOutSize, int ContextOutSize);
