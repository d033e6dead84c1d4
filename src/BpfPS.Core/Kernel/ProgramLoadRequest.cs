using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Collections;

namespace BpfPS.Core.Kernel;

/// <summary>Everything BPF_PROG_LOAD takes. Descriptors are borrowed: the caller keeps owning them.</summary>
/// <remarks>
/// Instructions, records and fd_array are kept as whole arrays (a slice given to a property is copied once), which
/// PROG_LOAD pins directly: ReadOnlyMemory members over the core's structs (and over int) would be compiled by the JIT at
/// the first load of every session, as ReadyToRun cannot precompile those framework generics here. The loader fills the
/// arrays itself.
/// </remarks>
public sealed class ProgramLoadRequest
{
    public ProgramLoadRequest()
    {
    }

    /// <summary>The loader's request: the arrays are used as they are (the ReadOnlyMemory conversions are never run).</summary>
    [SetsRequiredMembers]
    internal ProgramLoadRequest(BpfProgramType type, BpfInstruction[] instructions, BtfFuncInfo[]? funcInfos, BtfLineInfo[]? lineInfos)
    {
        Type = type;
        InstructionArray = instructions;
        FuncInfoArray = funcInfos ?? ValueList<BtfFuncInfo>.Empty;
        LineInfoArray = lineInfos ?? ValueList<BtfLineInfo>.Empty;
    }

    public required BpfProgramType Type { get; init; }
    public required ReadOnlyMemory<BpfInstruction> Instructions { get => InstructionArray; init => InstructionArray = WholeArray(value); }
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
    public ReadOnlyMemory<BtfFuncInfo> FuncInfos { get => FuncInfoArray; init => FuncInfoArray = WholeArray(value); }
    public ReadOnlyMemory<BtfLineInfo> LineInfos { get => LineInfoArray; init => LineInfoArray = WholeArray(value); }
    /// <summary>Kernel BTF type the program attaches to (fentry/fexit/tp_btf/lsm/iter).</summary>
    public uint AttachBtfId { get; init; }
    /// <summary>Module BTF holding <see cref="AttachBtfId"/>; null for vmlinux.</summary>
    public BpfFd? AttachBtfObject { get; init; }
    /// <summary>fd_array for kfunc calls into module BTF (insn.off indexes it).</summary>
    public ReadOnlyMemory<int> FdArray { get => FdArrayArray; init => FdArrayArray = WholeArray(value); }

    internal BpfInstruction[] InstructionArray { get; private init; } = ValueList<BpfInstruction>.Empty;
    internal BtfFuncInfo[] FuncInfoArray { get; private init; } = ValueList<BtfFuncInfo>.Empty;
    internal BtfLineInfo[] LineInfoArray { get; private init; } = ValueList<BtfLineInfo>.Empty;
    internal int[] FdArrayArray { get; init; } = ValueList<int>.Empty;

    /// <summary>The array behind <paramref name="memory"/> when it covers all of one, else a copy.</summary>
    private static T[] WholeArray<T>(ReadOnlyMemory<T> memory) =>
        memory.IsEmpty ? ValueList<T>.Empty
        : MemoryMarshal.TryGetArray(memory, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length ? segment.Array
        : memory.ToArray();
}

/// <summary>A loaded program's descriptor and the verifier log, when one was requested.</summary>
public readonly record struct ProgramLoadResult(BpfFd Fd, string? VerifierLog);

/// <summary>What BPF_PROG_TEST_RUN reports.</summary>
public readonly record struct ProgramTestRunResult(uint ReturnValue, uint DurationNanoseconds, int DataOutSize, int ContextOutSize);
