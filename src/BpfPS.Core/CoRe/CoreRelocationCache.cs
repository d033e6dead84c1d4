using BpfPS.Core.Btf;
using BpfPS.Core.Collections;

namespace BpfPS.Core.CoRe;

/// <summary>
/// What CO-RE found for one object against one set of targets, kept across the programs of one load. Programs of an
/// object repeat the same relocations (every program reading task_struct->pid has the same record), and matching one
/// against a big kernel struct walks hundreds of members; libbpf likewise keeps its candidate cache for the whole object.
/// Only results that cannot depend on which program asks are kept: see <see cref="Remember"/>. Not thread-safe: one
/// load (or one <c>RelocateAll</c>) uses it on one thread.
/// </summary>
internal sealed class CoreRelocationCache(BtfSpec local, IReadOnlyList<BtfSpec> targets)
{
    private readonly Dictionary<uint, CoreCandidate[]> _candidates = [];
    // Results by (type id, access string, kind), packed into one 64-bit key with the access string numbered: a Dictionary
    // keyed by a ValueTuple with Known values is a framework generic over the core's types that ReadyToRun cannot
    // precompile, so it was JIT-compiled at the first load of every session. Dictionaries of string and ulong to int are
    // the framework's own; the results live in the core's list.
    private readonly Dictionary<string, int> _accessStrings = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, int> _resultAt = [];
    private readonly ValueList<Known> _results = new();
    private const int MaxAccessStrings = 1 << 24;

    /// <summary>A relocation's outcome and description, the same for every instruction it patches.</summary>
    public readonly record struct Known(CoreRelocationOutcome Outcome, uint TargetTypeId, BtfSpec? TargetSpec, string Description);

    /// <summary>True when this cache was built for these specs (anything else must not read it).</summary>
    public bool Serves(BtfSpec localSpec, IReadOnlyList<BtfSpec> targetSpecs)
    {
        if (!ReferenceEquals(local, localSpec) || targets.Count != targetSpecs.Count) return false;
        for (int i = 0; i < targets.Count; i++)
        {
            if (!ReferenceEquals(targets[i], targetSpecs[i])) return false;
        }
        return true;
    }

    /// <summary>
    /// The candidates of a local type, looked up once per load. Each program gets its own list, because matching narrows
    /// a list within a program; a list of at most one candidate cannot change when narrowed, so those are shared.
    /// </summary>
    public CoreCandidateList Candidates(BtfType localType)
    {
        if (!_candidates.TryGetValue(localType.Id, out var found))
        {
            var list = CoreCandidateList.Find(localType, targets);
            found = list.Items;
            _candidates.Add(localType.Id, found);
        }
        return new CoreCandidateList(found.Length > 1 ? (CoreCandidate[])found.Clone() : found);
    }

    public bool TryGet(in CoreRelocation relocation, out Known known)
    {
        if ((uint)relocation.Kind <= byte.MaxValue
            && _accessStrings.TryGetValue(relocation.AccessString, out int access)
            && _resultAt.TryGetValue(Key(relocation.TypeId, access, relocation.Kind), out int at))
        {
            known = _results[at];
            return true;
        }
        known = default;
        return false;
    }

    private static ulong Key(uint typeId, int access, CoreRelocationKind kind) =>
        ((ulong)typeId << 32) | ((ulong)(uint)access << 8) | (byte)kind;

    /// <summary>
    /// Keeps a result that any later relocation with the same type, access string and kind would reach again: matched
    /// when the type had only one candidate to begin with (with several, what an earlier relocation of the same program
    /// narrowed the list to decides which one is chosen), or a local type id; and neither poisoned nor resizing a load
    /// in a way that poisons it (which depends on the instruction).
    /// </summary>
    public void Remember(in CoreRelocation relocation, in CoreRelocationOutcome outcome, int candidatesFound, uint targetTypeId,
        BtfSpec? targetSpec, string description)
    {
        bool reproducible = relocation.Kind == CoreRelocationKind.TypeIdLocal || candidatesFound == 1;
        if (!reproducible || outcome.Poison || outcome.FailMemorySizeAdjust || (uint)relocation.Kind > byte.MaxValue) return;
        if (!_accessStrings.TryGetValue(relocation.AccessString, out int access))
        {
            if (_accessStrings.Count >= MaxAccessStrings) return; // beyond the key's room: simply not kept
            access = _accessStrings.Count;
            _accessStrings.Add(relocation.AccessString, access);
        }
        if (_resultAt.TryAdd(Key(relocation.TypeId, access, relocation.Kind), _results.Count))
            _results.Add(new Known(outcome, targetTypeId, targetSpec, description));
    }
}
