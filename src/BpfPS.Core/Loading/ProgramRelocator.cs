using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;

namespace BpfPS.Core.Loading;

/// <summary>What a program looks like after relocation: the instructions PROG_LOAD gets, and what CO-RE did.</summary>
/// <remarks>
/// The CO-RE results are kept as an array (the property wraps it without a copy): ImmutableArray members over
/// CoreRelocationResult would be JIT-compiled at the first load of every session, as ReadyToRun cannot precompile
/// framework generics over the core's types.
/// </remarks>
public sealed record RelocatedProgram
{
    public RelocatedProgram(ProgramSpec Spec, BpfInstruction[] Instructions, ImmutableArray<CoreRelocationResult> CoreRelocations)
        : this(Spec, Instructions, ImmutableCollectionsMarshal.AsArray(CoreRelocations) ?? CoreRelocator.NoResults)
    {
    }

    internal RelocatedProgram(ProgramSpec spec, BpfInstruction[] instructions, CoreRelocationResult[] coreRelocations)
    {
        Spec = spec;
        Instructions = instructions;
        CoreRelocationArray = coreRelocations;
    }

    public ProgramSpec Spec { get; init; }
    public BpfInstruction[] Instructions { get; init; }
    public ImmutableArray<CoreRelocationResult> CoreRelocations
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(CoreRelocationArray);
        init => CoreRelocationArray = ImmutableCollectionsMarshal.AsArray(value) ?? CoreRelocator.NoResults;
    }
    internal CoreRelocationResult[] CoreRelocationArray { get; private init; }

    public void Deconstruct(out ProgramSpec Spec, out BpfInstruction[] Instructions, out ImmutableArray<CoreRelocationResult> CoreRelocations)
    {
        Spec = this.Spec;
        Instructions = this.Instructions;
        CoreRelocations = this.CoreRelocations;
    }
}

/// <summary>Everything relocation reads, besides the spec. Nothing here is changed by relocation.</summary>
public sealed class RelocationEnvironment
{
    /// <summary>vmlinux first, then module specs: the CO-RE targets. Empty is fine for programs without CO-RE.</summary>
    public IReadOnlyList<BtfSpec> Targets { get; init; } = [];
    /// <summary>Resolved __ksym externs by name.</summary>
    public IReadOnlyDictionary<string, ResolvedKsym> Ksyms { get; init; } = KsymTable.Empty;
    /// <summary>Map name to fd. Null: placeholders (the map's index in the spec), for inspection without a kernel.</summary>
    public Func<string, int>? MapFd { get; init; }
    /// <summary>Module index (see <see cref="ResolvedKsym.ModuleIndex"/>) to that module's BTF object fd; null: 0.</summary>
    public Func<int, int>? ModuleBtfFd { get; init; }
}

/// <summary>
/// Turns a program spec into the instructions the kernel gets, with no syscalls: copies the linked code, applies CO-RE
/// against the target BTF, resolves __ksym variables and kfuncs, and writes map fds into ld_imm64 instructions, exactly as
/// libbpf 1.1's bpf_object__relocate does. Used by the loader, and on its own to inspect code without loading it.
/// </summary>
public static class ProgramRelocator
{
    /// <summary>Relocates one program of <paramref name="spec"/>.</summary>
    /// <exception cref="BpfLoadException">A reference names an unknown map or extern, or points at the wrong instruction.</exception>
    /// <exception cref="BpfFormatException">A malformed CO-RE relocation.</exception>
    public static RelocatedProgram Relocate(CollectionSpec spec, ProgramSpec program, RelocationEnvironment environment) =>
        Relocate(spec, program, environment, applyMapReferences: true, coreCache: null);

    /// <remarks>
    /// With applyMapReferences false the caller writes the real fds later with <see cref="ApplyMapReferences"/>.
    /// <paramref name="coreCache"/> (from <see cref="CreateCoreCache"/>) lets the programs of one object share CO-RE results.
    /// </remarks>
    internal static RelocatedProgram Relocate(CollectionSpec spec, ProgramSpec program, RelocationEnvironment environment, bool applyMapReferences,
        CoreRelocationCache? coreCache)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(environment);

        var instructions = (BpfInstruction[])program.Instructions.Clone();
        var core = CoreRelocator.NoResults;
        if (program.CoreRelocationArray.Length != 0)
        {
            if (spec.Btf is null)
                throw new BpfLoadException(spec.Path, $"program '{program.Name}'", "has CO-RE relocations but the object has no BTF");
            if (environment.Targets.Count == 0)
                throw new BpfLoadException(spec.Path, $"program '{program.Name}'", "has CO-RE relocations but no target BTF was given");
            try
            {
                core = CoreRelocator.Apply(instructions, program.CoreRelocationArray, spec.Btf, environment.Targets, coreCache);
            }
            catch (BpfFormatException e)
            {
                throw e.WithFile(spec.Path);
            }
        }

        ApplyExterns(spec, program, instructions, environment);
        if (applyMapReferences) ApplyMapReferences(spec, program, instructions, environment.MapFd ?? PlaceholderMapFds(spec));
        else CheckMapReferences(spec, program, instructions, null);
        return new RelocatedProgram(program, instructions, core);
    }

    /// <summary>
    /// The environment <see cref="Collection.Load"/> would relocate with, built without a single bpf() call: the CO-RE
    /// target (<see cref="CollectionOptions.TargetBtf"/>, else the running kernel's) when a program has CO-RE relocations,
    /// __ksym externs resolved against the running kernel's BTF (the kernel checks their ids) and /proc/kallsyms,
    /// placeholder map fds.
    /// </summary>
    /// <exception cref="BpfLoadException">A strong __ksym extern is missing or its type differs from the kernel's.</exception>
    public static RelocationEnvironment CreateEnvironment(CollectionSpec spec, CollectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        options ??= new CollectionOptions();
        var kernel = new KernelIdTargets(options);
        var ksyms = KsymResolver.Resolve(spec, () => kernel.Vmlinux, kernel.Modules, wanted => KsymResolver.ReadKallsyms(wanted));
        bool needsTargets = spec.Programs.Values.Any(p => p.CoreRelocationArray.Length != 0);
        if (!needsTargets) return new RelocationEnvironment { Ksyms = ksyms };
        // CO-RE alone follows a custom target; ksyms above are ids the kernel checks, so they are the running kernel's.
        var coreTarget = options.TargetBtf ?? kernel.Vmlinux;
        return new RelocationEnvironment { Targets = [coreTarget, .. options.ModuleBtfs ?? []], Ksyms = ksyms };
    }

    /// <summary>Relocates every program for inspection, with placeholder map fds and the given (or running kernel's) BTF.</summary>
    public static IReadOnlyDictionary<string, RelocatedProgram> RelocateAll(CollectionSpec spec, RelocationEnvironment environment)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(environment);
        var coreCache = CreateCoreCache(spec, environment);
        var result = new Dictionary<string, RelocatedProgram>(StringComparer.Ordinal);
        foreach (var (name, program) in spec.Programs) result[name] = Relocate(spec, program, environment, applyMapReferences: true, coreCache);
        return result;
    }

    /// <summary>A CO-RE cache for relocating every program of <paramref name="spec"/> in one go (null when nothing to share).</summary>
    internal static CoreRelocationCache? CreateCoreCache(CollectionSpec spec, RelocationEnvironment environment) =>
        spec.Btf is null || environment.Targets.Count == 0 ? null : new CoreRelocationCache(spec.Btf, environment.Targets);

    /// <summary>
    /// Writes map fds into the program's map references (libbpf RELO_LD64 / RELO_DATA): src_reg BPF_PSEUDO_MAP_FD and
    /// imm = fd; or BPF_PSEUDO_MAP_VALUE, imm = fd and the second slot's imm = byte offset into the value.
    /// </summary>
    public static void ApplyMapReferences(CollectionSpec spec, ProgramSpec program, Span<BpfInstruction> instructions, Func<string, int> mapFd)
    {
        var copy = instructions.ToArray();
        ApplyMapReferences(spec, program, copy, mapFd);
        copy.CopyTo(instructions);
    }

    // Relocation works on the instruction array itself, not a span over it: Span<BpfInstruction> conversions are framework
    // generics over a core struct that ReadyToRun cannot precompile, JIT-compiled at the first load of every session.
    internal static void ApplyMapReferences(CollectionSpec spec, ProgramSpec program, BpfInstruction[] instructions, Func<string, int> mapFd)
    {
        ArgumentNullException.ThrowIfNull(mapFd);
        CheckMapReferences(spec, program, instructions, mapFd);
    }

    /// <summary>Checks every map reference and, when <paramref name="mapFd"/> is given, writes it.</summary>
    private static void CheckMapReferences(CollectionSpec spec, ProgramSpec program, BpfInstruction[] instructions, Func<string, int>? mapFd)
    {
        foreach (var reference in program.ReferenceArray)
        {
            if (reference.Kind is not (ReferenceKind.MapFd or ReferenceKind.MapValue)) continue;
            CheckLoadImm64(spec, program, instructions, reference);
            if (!spec.Maps.ContainsKey(reference.Target))
                throw Error(spec, program, $"instruction {reference.Index} refers to map '{reference.Target}', which the object does not define");
            if (mapFd is null) continue;
            ref var insn = ref instructions[reference.Index];
            insn.Immediate = mapFd(reference.Target);
            if (reference.Kind == ReferenceKind.MapFd)
            {
                insn.Src = BpfPseudo.MapFd;
            }
            else
            {
                insn.Src = BpfPseudo.MapValue;
                instructions[reference.Index + 1].Immediate = unchecked((int)reference.Offset);
            }
        }
    }

    /// <summary>__ksym variables (libbpf RELO_EXTERN_VAR for ksyms) and kfunc calls (RELO_EXTERN_FUNC).</summary>
    private static void ApplyExterns(CollectionSpec spec, ProgramSpec program, BpfInstruction[] instructions, RelocationEnvironment environment)
    {
        foreach (var reference in program.ReferenceArray)
        {
            if (reference.Kind is not (ReferenceKind.KsymVariable or ReferenceKind.KsymFunction)) continue;
            if (!environment.Ksyms.TryGetValue(reference.Target, out var ksym))
                throw Error(spec, program, $"instruction {reference.Index} refers to extern '{reference.Target}', which was not resolved");

            if (reference.Kind == ReferenceKind.KsymFunction)
            {
                if ((uint)reference.Index >= (uint)instructions.Length || !instructions[reference.Index].IsCall)
                    throw Error(spec, program, $"kfunc reference to '{reference.Target}' at instruction {reference.Index} is not a call");
                ref var call = ref instructions[reference.Index];
                call.Src = BpfPseudo.KfuncCall;
                // Unresolved weak kfuncs become "call 0" with src KFUNC_CALL; the verifier rejects them only if reachable.
                call.Immediate = ksym.IsResolved ? (int)ksym.KernelBtfId : 0;
                call.Offset = ksym.IsResolved && ksym.ModuleIndex >= 0 ? checked((short)(ksym.ModuleIndex + 1)) : (short)0;
                continue;
            }

            CheckLoadImm64(spec, program, instructions, reference);
            ref var first = ref instructions[reference.Index];
            ref var second = ref instructions[reference.Index + 1];
            if (ksym.Kind == KsymKind.TypedVariable && ksym.IsResolved)
            {
                first.Src = BpfPseudo.BtfId;
                first.Immediate = (int)ksym.KernelBtfId;
                second.Immediate = ksym.ModuleIndex >= 0 ? environment.ModuleBtfFd?.Invoke(ksym.ModuleIndex) ?? 0 : 0;
            }
            else
            {
                // Typeless ksyms (and unresolved weak typed ones): the 64-bit address, 0 when unknown.
                first.Immediate = unchecked((int)(uint)ksym.Address);
                second.Immediate = unchecked((int)(uint)(ksym.Address >> 32));
            }
        }
    }

    private static void CheckLoadImm64(CollectionSpec spec, ProgramSpec program, BpfInstruction[] instructions, InstructionReference reference)
    {
        if (reference.Index < 0 || reference.Index + 1 >= instructions.Length || !instructions[reference.Index].IsLoadImm64)
            throw Error(spec, program, $"reference to '{reference.Target}' at instruction {reference.Index} is not a ld_imm64");
    }

    /// <summary>Placeholder fds: the map's position in the spec, so inspected code still says which map it means.</summary>
    private static Func<string, int> PlaceholderMapFds(CollectionSpec spec)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in spec.Maps.Keys) index[name] = index.Count;
        return name => index.TryGetValue(name, out int i) ? i : -1;
    }

    private static BpfLoadException Error(CollectionSpec spec, ProgramSpec program, string message) =>
        new(spec.Path, $"program '{program.Name}'", message);
}
