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
    // Keyed by the type id as an int (the same bits): Dictionary<int, T> over references is precompiled by the framework,
    // Dictionary<uint, T> was JIT-compiled at the first load of every session.
    private readonly Dictionary<int, CoreCandidate[]> _candidates = [];
    // Results by (type id, access string, kind), packed into one 64-bit key with the access string numbered, found through
    // a small open-addressing index. A Dictionary keyed by a ValueTuple with Known values (or any Dictionary keyed by
    // ulong) is a framework generic that ReadyToRun cannot precompile here, JIT-compiled at the first load of every
    // session; Dictionary<string, int> is compiled long before (PowerShell itself uses it).
    private readonly Dictionary<string, int> _accessStrings = new(StringComparer.Ordinal);
    private readonly ValueList<Entry> _results = new();
    private int[] _slots = NoSlots; // index into _results plus one (0: free); linear probing, at most half full
    private static readonly int[] NoSlots = new int[0];
    private const int MaxAccessStrings = 1 << 24;

    private readonly record struct Entry(ulong Key, Known Value);

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
        if (!_candidates.TryGetValue(unchecked((int)localType.Id), out var found))
        {
            var list = CoreCandidateList.Find(localType, targets);
            found = list.Items;
            _candidates.Add(unchecked((int)localType.Id), found);
        }
        return new CoreCandidateList(found.Length > 1 ? (CoreCandidate[])found.Clone() : found);
    }

    public bool TryGet(in CoreRelocation relocation, out Known known)
    {
        if ((uint)relocation.Kind <= byte.MaxValue
            && _accessStrings.TryGetValue(relocation.AccessString, out int access)
            && Find(Key(relocation.TypeId, access, relocation.Kind)) is int at and >= 0)
        {
            known = _results[at].Value;
            return true;
        }
        known = default;
        return false;
    }

    private int Find(ulong key)
    {
        if (_slots.Length == 0) return -1;
        int mask = _slots.Length - 1;
        for (int i = Hash(key) & mask; ; i = (i + 1) & mask)
        {
            int at = _slots[i] - 1;
            if (at < 0 || _results[at].Key == key) return at;
        }
    }

    private void Add(ulong key, in Known known)
    {
        if ((_results.Count + 1) * 2 > _slots.Length)
        {
            _slots = new int[Math.Max(16, _slots.Length * 2)];
            for (int j = 0; j < _results.Count; j++) Place(_results[j].Key, j + 1);
        }
        _results.Add(new Entry(key, known));
        Place(key, _results.Count);
    }

    private void Place(ulong key, int slot)
    {
        int mask = _slots.Length - 1, i = Hash(key) & mask;
        while (_slots[i] != 0) i = (i + 1) & mask;
        _slots[i] = slot;
    }

    private static int Hash(ulong key) => (int)((key * 0x9E3779B97F4A7C15UL) >> 33);

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
        ulong key = Key(relocation.TypeId, access, relocation.Kind);
        if (Find(key) < 0) Add(key, new Known(outcome, targetTypeId, targetSpec, description));
    }
}
