using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

// The loader calls Apply on each program's linked instructions.

/// <summary>What one CO-RE relocation did: the values it found locally and in the target, or why it poisoned the instruction.</summary>
public readonly record struct CoreRelocationResult(
    CoreRelocation Relocation,
    bool Poisoned,
    ulong LocalValue,
    ulong TargetValue,
    uint TargetTypeId,
    string Description)
{
    /// <summary>The target spec whose type <see cref="TargetTypeId"/> matched (vmlinux or a module), or null when none did.</summary>
    public BtfSpec? TargetSpec { get; init; }
}

/// <summary>Applies CO-RE relocations against target BTF through read-only lookups (targets are never copied or changed).</summary>
public static partial class CoreRelocator
{
    internal static readonly CoreRelocationResult[] NoResults = new CoreRelocationResult[0];

    /// <summary>
    /// Patches <paramref name="instructions"/> in place for every relocation, like libbpf's bpf_core_apply_relo_insn.
    /// Unresolvable relocations poison their instruction (call 0xbad2310) rather than fail; existence checks answer 0.
    /// If a relocation throws, the ones before it have already patched <paramref name="instructions"/>: work on a copy.
    /// </summary>
    /// <param name="instructions">A program's linked instructions; relocation offsets index into them.</param>
    /// <param name="relocations">The program's CO-RE records (instruction indexes, not bytes).</param>
    /// <param name="local">The object's BTF.</param>
    /// <param name="targets">
    /// vmlinux first, then module specs (split on vmlinux). As in libbpf, a local type's candidates come from vmlinux, and
    /// from the modules only when vmlinux has none. Only read: nothing is copied or changed.
    /// </param>
    /// <exception cref="BpfFormatException">A relocation that is malformed (bad access string, bad type id, instruction mismatch).</exception>
    /// <exception cref="ArgumentException"><paramref name="targets"/> is empty but a relocation needs a target.</exception>
    public static ImmutableArray<CoreRelocationResult> Apply(Span<BpfInstruction> instructions, ReadOnlySpan<CoreRelocation> relocations,
        BtfSpec local, IReadOnlyList<BtfSpec> targets)
    {
        var copy = instructions.ToArray();
        try
        {
            return ImmutableCollectionsMarshal.AsImmutableArray(Apply(copy, relocations.ToArray(), local, targets, null));
        }
        finally
        {
            copy.CopyTo(instructions); // what was patched before a failure stays patched, as documented
        }
    }

    /// <summary>
    /// <see cref="Apply(Span{BpfInstruction}, ReadOnlySpan{CoreRelocation}, BtfSpec, IReadOnlyList{BtfSpec})"/> sharing what it
    /// finds with the other programs of one load. It takes arrays: spans over the instructions and records would be created
    /// by framework code the JIT compiles at the first load of every session.
    /// </summary>
    internal static CoreRelocationResult[] Apply(BpfInstruction[] instructions, CoreRelocation[] relocations,
        BtfSpec local, IReadOnlyList<BtfSpec> targets, CoreRelocationCache? cache)
    {
        ArgumentNullException.ThrowIfNull(local);
        ArgumentNullException.ThrowIfNull(targets);
        if (relocations.Length == 0)
            return NoResults;

        var session = CoreRelocationSession.Rent(local, targets, cache);
        try
        {
            var results = new CoreRelocationResult[relocations.Length];
            for (int i = 0; i < relocations.Length; i++)
                results[i] = session.Apply(instructions, relocations[i], i);
            return results;
        }
        finally
        {
            session.Return();
        }
    }
}
