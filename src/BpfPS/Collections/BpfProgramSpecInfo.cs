using System.Collections.Immutable;
using BpfPS.Core.Asm;
using BpfPS.Core.CoRe;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>One program of a <see cref="BpfCollectionSpecInfo"/>: its spec and, when relocation succeeded, the code the kernel would get.</summary>
public sealed class BpfProgramSpecInfo
{
    private readonly RelocatedProgram? _relocated;

    internal BpfProgramSpecInfo(ProgramSpec spec, RelocatedProgram? relocated, string? relocationError)
    {
        Spec = spec;
        _relocated = relocated;
        RelocationError = relocationError;
    }

    public string Name => Spec.Name;
    public string SectionName => Spec.SectionName;
    public BpfProgramType Type => Spec.Type;
    public BpfAttachType ExpectedAttachType => Spec.ExpectedAttachType;
    /// <summary>Attach target named by the section (fentry, tp_btf, iter, ...), else null.</summary>
    public string? AttachTo => Spec.AttachTo;
    /// <summary>Whether Import-BpfCollection loads this program (false for SEC("?...") sections). Settable before piping the spec to it.</summary>
    public bool AutoLoad
    {
        get => Spec.AutoLoad;
        set => Spec.AutoLoad = value;
    }
    public int InstructionCount => Instructions.Length;
    /// <summary>The relocated instructions (map fds are placeholders: the map's index), or the linked ones when relocation failed.</summary>
    public BpfInstruction[] Instructions => _relocated?.Instructions ?? Spec.Instructions;
    /// <summary>What each CO-RE relocation resolved to against the target BTF.</summary>
    public ImmutableArray<CoreRelocationResult> CoreRelocations => _relocated?.CoreRelocations ?? ImmutableArray<CoreRelocationResult>.Empty;
    /// <summary>Why relocation failed (the load would fail the same way), else null.</summary>
    public string? RelocationError { get; }
    public ProgramSpec Spec { get; }

    /// <summary>The instructions as text, in the kernel verifier's notation.</summary>
    public string Disassemble() => string.Join('\n', BpfDisassembler.Format(Instructions));

    public override string ToString() => $"{Type} program '{Name}' ({InstructionCount} instructions)";
}
