using System.Runtime.CompilerServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// The state of one <see cref="CoreRelocator.Apply"/> call: three scratch specs and the candidate lists per local type.
/// One instance per thread is reused from call to call, so a relocation allocates little beyond its result and message.
/// </summary>
internal sealed class CoreRelocationSession
{
    private const string Section = ".BTF.ext (CO-RE relocations)";

    [ThreadStatic]
    private static CoreRelocationSession? s_cached;

    // Keyed by the type id as an int: see CoreRelocationCache's candidates.
    private readonly Dictionary<int, CoreCandidateList> _candidates = [];
    private readonly CoreAccessSpec _localSpec = new();
    private CoreAccessSpec _candidateSpec = new();
    private CoreAccessSpec _chosenSpec = new();
    private BtfSpec _local = null!;
    private IReadOnlyList<BtfSpec> _targets = null!;
    private CoreRelocationCache? _cache;

    /// <summary>This thread's session (or a new one if it is already in use further up the stack), set up for one call.</summary>
    /// <param name="cache">Results shared by the programs of one load, or null; used only if it was built for these specs.</param>
    public static CoreRelocationSession Rent(BtfSpec local, IReadOnlyList<BtfSpec> targets, CoreRelocationCache? cache = null)
    {
        var session = s_cached ?? new CoreRelocationSession();
        s_cached = null;
        session._local = local;
        session._targets = targets;
        session._cache = cache is not null && cache.Serves(local, targets) ? cache : null;
        return session;
    }

    /// <summary>Forgets the call's specs and candidates (so nothing stays alive through the cache) and makes the session reusable.</summary>
    public void Return()
    {
        _candidates.Clear();
        _localSpec.Clear();
        _candidateSpec.Clear();
        _chosenSpec.Clear();
        _local = null!;
        _targets = null!;
        _cache = null;
        s_cached = this;
    }

    public CoreRelocationResult Apply(BpfInstruction[] instructions, in CoreRelocation relocation, int number)
    {
        try
        {
            return ApplyOne(instructions, relocation);
        }
        catch (CoreRelocationException e)
        {
            string typeName = _local.TryGetType(relocation.TypeId, out var type) && type is not null ? CoreBtf.Describe(type) : $"type [{relocation.TypeId}]";
            throw new BpfFormatException(
                $"CO-RE relocation #{number} ({relocation.Kind.ShortName()} {typeName} \"{relocation.AccessString}\" at instruction {relocation.InstructionOffset}): {e.Message}",
                _local.Source, Section);
        }
    }

    private CoreRelocationResult ApplyOne(BpfInstruction[] instructions, in CoreRelocation relocation)
    {
        if (!relocation.Kind.IsKnown())
            throw new CoreRelocationException($"unknown relocation kind {(uint)relocation.Kind}");
        if ((uint)relocation.InstructionOffset >= (uint)instructions.Length)
            throw new CoreRelocationException($"instruction {relocation.InstructionOffset} is outside the program's {instructions.Length} instructions");
        if (_cache is not null && _cache.TryGet(relocation, out var known))
        {
            // Checked and matched before with the same inputs; only the instruction is new (Patch still validates it).
            CoreInstructionPatcher.Patch(instructions, relocation.InstructionOffset, known.Outcome);
            return new CoreRelocationResult(relocation, false, known.Outcome.OriginalValue, known.Outcome.NewValue, known.TargetTypeId,
                known.Description) { TargetSpec = known.TargetSpec };
        }
        if (relocation.TypeId == 0 || !_local.TryGetType(relocation.TypeId, out var localType) || localType is null)
            throw new CoreRelocationException($"type id {relocation.TypeId} is not in the object's BTF");

        _localSpec.Parse(_local, relocation);
        var kind = relocation.Kind;

        if (kind == CoreRelocationKind.TypeIdLocal)
        {
            // The local id needs no target, and linking may renumber it, so the instruction's value is not checked.
            var idOutcome = new CoreRelocationOutcome { OriginalValue = relocation.TypeId, NewValue = relocation.TypeId };
            CoreInstructionPatcher.Patch(instructions, relocation.InstructionOffset, idOutcome);
            var text = new DefaultInterpolatedStringHandler(0, 0);
            text.AppendLiteral(kind.ShortName());
            text.AppendLiteral(" ");
            _localSpec.AppendTo(ref text);
            text.AppendLiteral(": ");
            text.AppendFormatted(relocation.TypeId);
            string idText = text.ToStringAndClear();
            _cache?.Remember(relocation, idOutcome, 0, 0, null, idText);
            return new CoreRelocationResult(relocation, false, relocation.TypeId, relocation.TypeId, 0, idText);
        }
        if (localType.Name.Length == 0)
            throw new CoreRelocationException("relocations against anonymous types are not supported (libbpf refuses them too)");
        if (_targets.Count == 0)
            throw new ArgumentException($"{_local.Source}: CO-RE relocation against {CoreBtf.Describe(localType)} needs target BTF (vmlinux)", "targets");

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
            : DescribeMiss(relocation, outcome, poisoned, totalCandidates, localType);
        if (matched > 0 && !poisoned)
            _cache?.Remember(relocation, outcome, candidates.Items.Length, chosen.TypeId, chosen.Spec, description); // before any narrowing
        return new CoreRelocationResult(relocation, poisoned, outcome.OriginalValue, poisoned ? 0 : outcome.NewValue,
            matched > 0 ? chosen.TypeId : 0, description)
        { TargetSpec = matched > 0 ? chosen.Spec : null };
    }

    private CoreCandidateList GetCandidates(BtfType localType)
    {
        if (!_candidates.TryGetValue(unchecked((int)localType.Id), out var list))
        {
            list = _cache is not null ? _cache.Candidates(localType) : CoreCandidateList.Find(localType, _targets);
            _candidates.Add(unchecked((int)localType.Id), list);
        }
        return list;
    }

    /// <summary>"byte_off struct s.f (0:1 @ offset 4) -> vmlinux [12] struct s.f (0:3 @ offset 8): 4 -> 8".</summary>
    private string DescribeMatch(in CoreRelocation relocation, in CoreRelocationOutcome outcome, bool poisoned, CoreCandidate chosen)
    {
        var text = new DefaultInterpolatedStringHandler(0, 0);
        text.AppendLiteral(relocation.Kind.ShortName());
        text.AppendLiteral(" ");
        _localSpec.AppendTo(ref text);
        text.AppendLiteral(" -> ");
        text.AppendLiteral(chosen.Spec.Source);
        text.AppendLiteral(" [");
        text.AppendFormatted(chosen.TypeId);
        text.AppendLiteral("] ");
        _chosenSpec.AppendTo(ref text);
        if (poisoned)
        {
            text.AppendLiteral(": the field is ");
            text.AppendFormatted(outcome.NewSize);
            text.AppendLiteral(" bytes in the kernel but ");
            text.AppendFormatted(outcome.OriginalSize);
            text.AppendLiteral(" bytes locally and is not a pointer or unsigned integer, so the load/store cannot be resized");
            AppendPoisoned(ref text, relocation.InstructionOffset);
        }
        else
        {
            text.AppendLiteral(": ");
            text.AppendFormatted(outcome.OriginalValue);
            text.AppendLiteral(" -> ");
            text.AppendFormatted(outcome.NewValue);
        }
        return text.ToStringAndClear();
    }

    /// <summary>"byte_off struct task_struct.foo (0:40 @ offset 96): field not found in kernel BTF; instruction 12 poisoned (...)".</summary>
    private string DescribeMiss(in CoreRelocation relocation, in CoreRelocationOutcome outcome, bool poisoned, int totalCandidates, BtfType localType)
    {
        var kind = relocation.Kind;
        var text = new DefaultInterpolatedStringHandler(0, 0);
        text.AppendLiteral(kind.ShortName());
        text.AppendLiteral(" ");
        _localSpec.AppendTo(ref text);
        text.AppendLiteral(": ");
        if (totalCandidates == 0)
        {
            text.AppendLiteral("no ");
            text.AppendLiteral(CoreBtf.KindWord(localType));
            text.AppendLiteral(" ");
            text.AppendFormatted(CoreNames.Essential(localType.Name));
            text.AppendLiteral(" (or flavor of it) in kernel BTF");
        }
        else
        {
            text.AppendLiteral(kind.IsFieldBased() ? "field not found in kernel BTF"
                : kind.IsEnumValueBased() ? "enum value not found in kernel BTF"
                : kind == CoreRelocationKind.TypeMatches ? "no matching type in kernel BTF"
                : "no compatible type in kernel BTF");
        }
        if (poisoned)
        {
            AppendPoisoned(ref text, relocation.InstructionOffset);
        }
        else
        {
            text.AppendLiteral("; value ");
            text.AppendFormatted(outcome.OriginalValue);
            text.AppendLiteral(" -> ");
            text.AppendFormatted(outcome.NewValue);
        }
        return text.ToStringAndClear();
    }

    private static void AppendPoisoned(ref DefaultInterpolatedStringHandler text, int instruction)
    {
        text.AppendLiteral("; instruction ");
        text.AppendFormatted(instruction);
        text.AppendLiteral(" poisoned (call 0xbad2310: the verifier rejects it only if it is reachable)");
    }

    private static string Where(CoreCandidate candidate) => $"{candidate.Spec.Source} [{candidate.TypeId}]";

    private static string Decision(in CoreRelocationOutcome outcome) => outcome.Poison ? "no value (poison)" : outcome.NewValue.ToString();
}
