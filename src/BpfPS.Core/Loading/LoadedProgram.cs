using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.CoRe;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>A program loaded by <see cref="Collection.Load"/>. Owns its descriptor.</summary>
public sealed class LoadedProgram : IDisposable
{
    private ProgramIdentity? _identity;
    // Wrapped on read: making the ImmutableArrays at load would JIT-compile their members over BpfInstruction and
    // CoreRelocationResult at the first load of every session (ReadyToRun cannot precompile framework generics over the
    // core's types).
    private readonly BpfInstruction[] _instructions;
    private readonly CoreRelocationResult[] _coreRelocations;

    /// <remarks>The instruction array is handed over: the caller must not change it afterwards.</remarks>
    internal LoadedProgram(ProgramSpec spec, BpfFd fd, BpfInstruction[] instructions, string? verifierLog,
        CoreRelocationResult[] coreRelocations, uint attachBtfId)
    {
        Spec = spec;
        Fd = fd;
        _instructions = instructions;
        VerifierLog = verifierLog;
        _coreRelocations = coreRelocations;
        AttachBtfId = attachBtfId;
    }

    public string Name => Spec.Name;
    public string SectionName => Spec.SectionName;
    public BpfProgramType Type => Spec.Type;
    public BpfAttachType ExpectedAttachType => Spec.ExpectedAttachType;
    public BpfFd Fd { get; }
    /// <summary>The kernel's id for the program (bpftool prog show id N).</summary>
    /// <remarks>
    /// Asked of the kernel on first read, not at load: a load of many programs then makes no info call per program (libbpf
    /// makes none either). Read it before disposing if you need it afterwards: once the descriptor is closed the program
    /// may be gone, and an id never read reads 0.
    /// </remarks>
    public uint Id => Identity.Id;
    /// <summary>The kernel's tag (hash of the instructions), 16 hex digits as bpftool prints it; "" under the same condition as <see cref="Id"/> 0.</summary>
    public string Tag => Identity.Tag;
    /// <summary>The instructions PROG_LOAD received (map fds, ksym ids and CO-RE values in place).</summary>
    public ImmutableArray<BpfInstruction> Instructions => ImmutableCollectionsMarshal.AsImmutableArray(_instructions);
    public int InstructionCount => _instructions.Length;
    /// <summary>Exactly the bytes PROG_LOAD received (a fresh copy on every read).</summary>
    public byte[] RawInstructions => MemoryMarshal.AsBytes(Instructions.AsSpan()).ToArray();
    /// <summary>The verifier's log when one was requested (CollectionOptions.LogLevel), else null.</summary>
    public string? VerifierLog { get; }
    /// <summary>What each CO-RE relocation found (empty when the program has none).</summary>
    public ImmutableArray<CoreRelocationResult> CoreRelocations => ImmutableCollectionsMarshal.AsImmutableArray(_coreRelocations);
    /// <summary>The kernel BTF id the program attaches to (fentry/tp_btf/lsm/iter), else 0.</summary>
    public uint AttachBtfId { get; }
    public ProgramSpec Spec { get; }

    /// <summary>The loaded instructions as text (kernel disasm.c style), maps and externs by name.</summary>
    public string Disassemble()
    {
        var symbols = new Dictionary<int, string>();
        foreach (var r in Spec.References) symbols.TryAdd(r.Index, r.Target);
        return string.Join('\n', BpfDisassembler.Format(Instructions.AsSpan(), i => symbols.TryGetValue(i, out var name) ? name : null));
    }

    /// <summary>Runs the program once (or <paramref name="repeat"/> times) with BPF_PROG_TEST_RUN.</summary>
    public ProgramTestRunResult TestRun(ReadOnlySpan<byte> data, Span<byte> dataOut = default, ReadOnlySpan<byte> context = default,
        Span<byte> contextOut = default, uint repeat = 1) =>
        BpfSyscall.ProgramTestRun(Fd, data, dataOut, context, contextOut, repeat);

    /// <summary>Closes the descriptor (the program lives on while attached or pinned). Idempotent.</summary>
    public void Dispose() => Fd.Dispose();

    private ProgramIdentity Identity
    {
        get
        {
            if (_identity is { } known) return known;
            ProgramIdentity identity;
            try
            {
                var (id, tag) = BpfSyscall.GetProgramIdAndTag(Fd);
                identity = new ProgramIdentity(id, tag);
            }
            catch (ObjectDisposedException)
            {
                return ProgramIdentity.Unknown; // closed before anyone asked: the program may be gone, there is no id to report
            }
            // Two threads may both ask; they get the same answer, and the first one published wins.
            return Interlocked.CompareExchange(ref _identity, identity, null) ?? identity;
        }
    }

    private sealed record ProgramIdentity(uint Id, string Tag)
    {
        public static readonly ProgramIdentity Unknown = new(0, "");
    }

    public override string ToString() => $"{Type} program '{Name}' (id {Id})";
}
