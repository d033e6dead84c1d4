using BpfPS.Core.Asm;
using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// The state of one <see cref="CoreRelocator.Apply"/> call: three reusable specs and the candidate lists per local type,
/// so relocations after the first against a type allocate little beyond their result. Not shared between calls.
/// </summary>
internal sealed class CoreRelocationSession(BtfSpec local, IReadOnlyList<BtfSpec> targets)
{
    private const string Section = ".BTF.ext (CO-RE relocations)";

    private readonly Dictionary<uint, CoreCandidateList> _candidates = [];
    private readonly CoreAccessSpec _localSpec = new();
    private CoreAccessSpec _candidateSpec = new();
    private CoreAccessSpec _chosenSpec = new();

    public CoreRelocationResult Apply(Span<BpfInstruction> instructions, in CoreRelocation relocation, int number)
    {
        try
        {
            return ApplyOne(instructions, relocation);
        }
        catch (CoreRelocationException e)
        {
            string typeName = local.TryGetType(relocation.TypeId, out var type) && type is not null ? CoreBtf.Describe(type) : $"type [{relocation.TypeId}]";
            throw new BpfFormatException(
                $"CO-RE relocation #{number} ({relocation.Kind.ShortName()} {typeName} \"{relocation.AccessString}\" at instruction {relocation.InstructionOffset}): {e.Message}",
                local.Source, Section);
        }
    }

    private CoreRelocationResult ApplyOne(Span<BpfInstruction> instructions, in CoreRelocation relocation)
    {
        if (!relocation.Kind.IsKnown())
            throw new CoreRelocationException($"unknown relocation kind {(uint)relocation.Kind}");
        if ((uint)relocation.InstructionOffset >= (uint)instructions.Length)
            throw new CoreRelocationException($"instruction {relocation.InstructionOffset} is outside the program's {instructions.Length} instructions");
        if (relocation.TypeId == 0 || !local.TryGetType(relocation.TypeId, out var localType) || localType is null)
            throw new CoreRelocationException($"type id {relocation.TypeId} is not in the object's BTF");

        _localSpec.Parse(local, relocation);
        var kind = relocation.Kind;

        if (kind == CoreRelocationKind.TypeIdLocal)
        {
            // The local id needs no target, and linking may renumber it, so the instruction's value is not checked.
            var idOutcome = new CoreRelocationOutcome { OriginalValue = relocation.TypeId, NewValue = relocation.TypeId };
            CoreInstructionPatcher.Patch(instructions, relocation.InstructionOffset, idOutcome);
            return new CoreRelocationResult(relocation, false, relocation.TypeId, relocation.TypeId, 0,
                $"{kind.ShortName()} {_localSpec.Format()}: {relocation.TypeId}");
        }
        if (localType.Name.Length == 0)
            throw new CoreRelocationException("relocations against anonymous types are not supported (libbpf refuses them too)");
        if (targets.Count == 0)
            throw new ArgumentException($"{local.Source}: CO-RE relocation against {CoreBtf.Describe(localType)} needs target BTF (vmlinux)", nameof(targets));

        var candidates = GetCandidates(localType);
        int totalCandidates = candidates.Count;
        CoreRelocationOutcome outcome = default;
        CoreCandidate chosen = default;
        int matched = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var candidate = candidates.Items[i];
            if (!CoreSpecMatcher.Match(_localSpec, candidate.Spec, candidate.TypeId, _candidateSpec))
                continue;
            var candidateOutcome = CoreRelocationOutcome.Calculate(_localSpec, _candidateSpec);
            if (matched == 0)
            {
                outcome = candidateOutcome;
                chosen = candidate;
                (_chosenSpec, _candidateSpec) = (_candidateSpec, _chosenSpec);
            }
            else if (_candidateSpec.BitOffset != _chosenSpec.BitOffset)
            {
                throw new CoreRelocationException(
                    $"ambiguous: {Where(chosen)} puts the field at bit {_chosenSpec.BitOffset}, {Where(candidate)} at bit {_candidateSpec.BitOffset}");
            }
            else if (candidateOutcome.Poison != outcome.Poison || candidateOutcome.NewValue != outcome.NewValue)
            {
                throw new CoreRelocationException(
                    $"ambiguous: {Where(chosen)} gives {Decision(outcome)}, {Where(candidate)} gives {Decision(candidateOutcome)}");
            }
            candidates.Items[matched++] = candidate;
        }

        if (matched > 0)
            candidates.Count = matched;   // later relocations against this type only consider what matched
        else
            outcome = CoreRelocationOutcome.Calculate(_localSpec, null);

        bool poisoned = CoreInstructionPatcher.Patch(instructions, relocation.InstructionOffset, outcome);
        string description = matched > 0
            ? DescribeMatch(relocation, outcome, poisoned, chosen)
            : DescribeMiss(relocation, outcome, poisoned, totalCandidates);
        return new CoreRelocationResult(relocation, poisoned, outcome.OriginalValue, poisoned ? 0 : outcome.NewValue,
            matched > 0 ? chosen.TypeId : 0, description)
        { TargetSpec = matched > 0 ? chosen.Spec : null };
    }

    private CoreCandidateList GetCandidates(BtfType localType)
    {
        if (!_candidates.TryGetValue(localType.Id, out var list))
        {
            list = CoreCandidateList.Find(localType, targets);
            _candidates.Add(localType.Id, list);
        }
        return list;
    }

    private string DescribeMatch(in CoreRelocation relocation, in CoreRelocationOutcome outcome, bool poisoned, CoreCandidate chosen)
    {
        string head = $"{relocation.Kind.ShortName()} {_localSpec.Format()} -> {chosen.Spec.Source} [{chosen.TypeId}] {_chosenSpec.Format()}";
        if (poisoned)
        {
            return $"{head}: the field is {outcome.NewSize} bytes in the kernel but {outcome.OriginalSize} bytes locally and is not a pointer or unsigned integer, " +
                   $"so the load/store cannot be resized; instruction {relocation.InstructionOffset} poisoned (call 0x{CoreInstructionPatcher.PoisonHelperId:x})";
        }
        return $"{head}: {outcome.OriginalValue} -> {outcome.NewValue}";
    }

    private string DescribeMiss(in CoreRelocation relocation, in CoreRelocationOutcome outcome, bool poisoned, int totalCandidates)
    {
        var kind = relocation.Kind;
        string what = _localSpec.Format();
        string reason = totalCandidates == 0
            ? $"no {CoreBtf.Describe(local.GetType(relocation.TypeId))} (or flavor of it) in kernel BTF"
            : kind.IsFieldBased() ? "field not found in kernel BTF"
            : kind.IsEnumValueBased() ? "enum value not found in kernel BTF"
            : kind == CoreRelocationKind.TypeMatches ? "no matching type in kernel BTF"
            : "no compatible type in kernel BTF";
        if (poisoned)
            return $"{kind.ShortName()} {what}: {reason}; instruction {relocation.InstructionOffset} poisoned (call 0x{CoreInstructionPatcher.PoisonHelperId:x})";
        return $"{kind.ShortName()} {what}: {reason}; value {outcome.OriginalValue} -> {outcome.NewValue}";
    }

    private static string Where(CoreCandidate candidate) => $"{candidate.Spec.Source} [{candidate.TypeId}]";

    private static string Decision(in CoreRelocationOutcome outcome) => outcome.Poison ? "no value (poison)" : outcome.NewValue.ToString();
}
