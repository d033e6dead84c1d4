using System.Text;

namespace BpfPS.Core.Btf;

public sealed partial class BtfSpec
{
    private BtfNameIndex? _nameIndex;
    private readonly Lock _nameIndexGate = new();

    /// <summary>Names up to this many UTF-8 bytes are looked up without allocating.</summary>
    private const int StackNameBytes = 512;

    /// <summary>Ids of types named exactly <paramref name="name"/> (this spec and its base). No allocation on a warm index beyond the result.</summary>
    /// <remarks>Ascending ids, base spec first; the list is a read-only view of the index (one small object per hit, none for a miss).</remarks>
    public IReadOnlyList<uint> FindByName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Find(name, exact: true);
    }

    /// <summary>
    /// Ids whose CO-RE essential name (the name without a "___flavor" suffix) equals <paramref name="essentialName"/>,
    /// in this spec and its base. Read-only: nothing is copied.
    /// </summary>
    /// <remarks>
    /// The essential name follows libbpf: see <see cref="EssentialName(ReadOnlySpan{char})"/>. Ids come grouped by full
    /// name ("foo", then "foo___v2"), ascending within a name, base spec first.
    /// </remarks>
    public IReadOnlyList<uint> FindByEssentialName(ReadOnlySpan<char> essentialName) => Find(essentialName, exact: false);

    /// <summary>
    /// The CO-RE essential name: <paramref name="name"/> without its last "___flavor" suffix, where the "___" sits between
    /// two characters that are not underscores, as libbpf's bpf_core_essential_name_len ("task_struct___old" gives
    /// "task_struct"; "____fput" and "foo___" stay whole).
    /// </summary>
    public static ReadOnlySpan<char> EssentialName(ReadOnlySpan<char> name) => name[..BtfNameIndex.EssentialLength(name)];

    /// <summary>The name index, built on first use by one thread while others wait, then only read.</summary>
    internal BtfNameIndex NameIndex
    {
        get
        {
            var index = Volatile.Read(ref _nameIndex);
            if (index is not null)
                return index;
            lock (_nameIndexGate)
            {
                index = _nameIndex ?? BtfNameIndex.Build(this);
                Volatile.Write(ref _nameIndex, index);
                return index;
            }
        }
    }

    private IReadOnlyList<uint> Find(ReadOnlySpan<char> name, bool exact)
    {
        if (name.IsEmpty)
            return BtfIdList.Empty;
        int max = Encoding.UTF8.GetMaxByteCount(name.Length);
        Span<byte> utf8 = max <= StackNameBytes ? stackalloc byte[StackNameBytes] : new byte[max];
        utf8 = utf8[..Encoding.UTF8.GetBytes(name, utf8)];

        // Base first, then this split spec: ids come out ascending. Usually one spec answers, and its range is
        // returned as it is; only hits in both base and split spec are merged into a new array.
        BtfIdRange found = default;
        uint[]? merged = null;
        for (var spec = Root; ; spec = spec.SplitAbove(this))
        {
            var index = spec.NameIndex;
            var hits = exact ? index.FindExact(utf8) : index.FindEssential(utf8);
            if (hits.Length > 0)
            {
                if (found.Length == 0 && merged is null)
                    found = hits;
                else
                {
                    int had = merged?.Length ?? found.Length;
                    var grown = new uint[had + hits.Length];
                    if (merged is null) found.CopyTo(grown); else merged.CopyTo(grown, 0);
                    hits.CopyTo(grown.AsSpan(had));
                    merged = grown;
                }
            }
            if (spec == this)
                break;
        }
        return merged is not null ? new BtfIdList(merged, 0, merged.Length) : found.ToList();
    }

    /// <summary>The first spec of the base chain (this one for a standalone blob).</summary>
    private BtfSpec Root
    {
        get
        {
            var spec = this;
            while (spec._base is not null)
                spec = spec._base;
            return spec;
        }
    }

    /// <summary>The spec in <paramref name="top"/>'s chain whose base is this one.</summary>
    private BtfSpec SplitAbove(BtfSpec top)
    {
        var spec = top;
        while (spec._base != this)
            spec = spec._base!;
        return spec;
    }
}
