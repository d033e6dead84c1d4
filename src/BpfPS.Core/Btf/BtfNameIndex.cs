using System.Buffers;
using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace BpfPS.Core.Btf;

/// <summary>
/// The name index of one spec's own types, built once and read-only afterwards: a sorted hash index in three flat
/// arrays instead of a dictionary of strings. Every named type contributes (hash of its CO-RE essential name, id);
/// the pairs are grouped by the top bits of the hash (<see cref="_hashes"/>, <see cref="_ids"/>, with
/// <see cref="_bucketStart"/> saying where each bucket starts), equal hashes side by side, so a lookup hashes the name,
/// scans a bucket of about one entry and compares the names in place in the string section. Equal names are contiguous, ids ascending, and a run that mixes flavours
/// ("foo", "foo___v2") is ordered by full name, so both exact and essential lookups answer with one range of
/// <see cref="_ids"/>. For vmlinux (71k named types) the index holds 0.8 MB.
/// </summary>
/// <remarks>
/// Building it is one pass over the types that hashes each name where it lies (8 bytes at a time), then a counting sort
/// by bucket. Flavoured names are rare (5 strings in vmlinux), so instead of looking for "___" in every name while
/// hashing, the string section is searched for "___" once and the few strings found are remembered.
/// </remarks>
internal sealed class BtfNameIndex
{
    private readonly BtfSpec _spec;
    private readonly int _shift;
    private readonly int[] _bucketStart;
    private readonly uint[] _hashes;
    private readonly uint[] _ids;

    private BtfNameIndex(BtfSpec spec, int shift, int[] bucketStart, uint[] hashes, uint[] ids)
    {
        _spec = spec;
        _shift = shift;
        _bucketStart = bucketStart;
        _hashes = hashes;
        _ids = ids;
    }

    /// <summary>Bytes the index keeps alive (for the memory figures).</summary>
    internal long RetainedBytes => 4L * (_bucketStart.Length + _hashes.Length + _ids.Length);

    /// <summary>All named ids, in index order; lookups answer with a range of it.</summary>
    public uint[] Ids => _ids;

    public static BtfNameIndex Build(BtfSpec spec)
    {
        var raw = spec.RawBytes.Span;
        ref byte r0 = ref MemoryMarshal.GetReference(raw);
        uint[] offsets = spec.TypeSectionOffsets;
        int typeStart = spec.TypeSectionStart, stringStart = spec.StringSectionStart, count = spec.TypeCount;
        uint stringBase = spec.StringBase, stringLength = (uint)spec.StringSectionLength, firstId = spec.FirstTypeId;
        var flavoured = FlavouredStrings(raw.Slice(stringStart, (int)stringLength), stringBase);

        // (hash << 32 | id) for every named type, in id order.
        ulong[] items = ArrayPool<ulong>.Shared.Rent(Math.Max(1, count));
        int named = 0;
        for (int index = 0; index < count; index++)
        {
            uint nameOff = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r0, typeStart + (int)offsets[index]));
            if (nameOff == 0)
                continue;
            uint hash;
            if (nameOff - stringBase < stringLength && nameOff >= stringBase && !flavoured.MayContain(nameOff))
            {
                int at = stringStart + (int)(nameOff - stringBase);
                if (HashName(raw, at, out hash) == 0)
                    continue;
            }
            else
            {
                // A flavoured name, a split spec's type named from the base's strings, or a bad offset (reported here).
                var name = spec.StringBytes(nameOff);
                if (name.IsEmpty)
                    continue;
                hash = Hash(name[..EssentialLength(name)]);
            }
            items[named++] = ((ulong)hash << 32) | (firstId + (uint)index);
        }

        // Counting sort by bucket (the top bits of the hash: about one name a bucket); stable, so ids stay ascending
        // among equal hashes. Lookups need equal hashes side by side, which a bucket of one or two has already.
        int bits = Math.Clamp(BitOperations.Log2((uint)Math.Max(1, named)), 1, 24);
        int shift = 32 - bits, buckets = 1 << bits;
        var bucketStart = new int[buckets + 1];
        for (int i = 0; i < named; i++)
            bucketStart[(int)(items[i] >> (32 + shift)) + 1]++;
        for (int b = 0; b < buckets; b++)
            bucketStart[b + 1] += bucketStart[b];
        var hashes = new uint[named];
        var ids = new uint[named];
        for (int i = 0; i < named; i++)
        {
            ulong item = items[i];
            int at = bucketStart[(int)(item >> (32 + shift))]++;   // the start doubles as the cursor...
            hashes[at] = (uint)(item >> 32);
            ids[at] = (uint)item;
        }
        Array.Copy(bucketStart, 0, bucketStart, 1, buckets);     // ...and ends as the next bucket's start: shift back
        bucketStart[0] = 0;
        ArrayPool<ulong>.Shared.Return(items);
        for (int b = 0; b < buckets; b++)
            if (bucketStart[b + 1] - bucketStart[b] > 2)
                SortBucket(hashes, ids, bucketStart[b], bucketStart[b + 1]);

        var built = new BtfNameIndex(spec, shift, bucketStart, hashes, ids);
        built.OrderRunsByName();
        return built;
    }

    /// <summary>Insertion sort by hash of a bucket (a couple of entries), stable.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SortBucket(uint[] hashes, uint[] ids, int start, int end)
    {
        for (int i = start + 1; i < end; i++)
        {
            uint h = hashes[i], id = ids[i];
            int j = i - 1;
            for (; j >= start && hashes[j] > h; j--)
            {
                hashes[j + 1] = hashes[j];
                ids[j + 1] = ids[j];
            }
            hashes[j + 1] = h;
            ids[j + 1] = id;
        }
    }

    /// <summary>
    /// Runs of equal hash are equal names, except for flavours and (rarely) colliding names: order such a run by
    /// essential name, then full name, then id, so every name's ids are contiguous.
    /// </summary>
    private void OrderRunsByName()
    {
        for (int start = 0; start < _hashes.Length;)
        {
            int end = start + 1;
            while (end < _hashes.Length && _hashes[end] == _hashes[start])
                end++;
            if (end - start > 1 && !AllNamesEqual(start, end))
                _ids.AsSpan(start, end - start).Sort((a, b) =>
                {
                    var x = Name(a);
                    var y = Name(b);
                    int c = x[..EssentialLength(x)].SequenceCompareTo(y[..EssentialLength(y)]);
                    if (c == 0) c = x.SequenceCompareTo(y);
                    return c != 0 ? c : a.CompareTo(b);
                });
            start = end;
        }
    }

    private bool AllNamesEqual(int start, int end)
    {
        var first = Name(_ids[start]);
        for (int i = start + 1; i < end; i++)
            if (!Name(_ids[i]).SequenceEqual(first))
                return false;
        return true;
    }

    private ReadOnlySpan<byte> Name(uint id) => _spec.StringBytes(_spec.U32At(_spec.TypeOffset(id - _spec.FirstTypeId)));

    /// <summary>This spec's types whose essential name is <paramref name="essential"/>.</summary>
    public BtfIdRange FindEssential(ReadOnlySpan<byte> essential)
    {
        if (essential.IsEmpty)
            return default;
        uint hash = Hash(essential);
        int b = (int)(hash >> _shift), i = _bucketStart[b], end = _bucketStart[b + 1];
        while (i < end && _hashes[i] != hash)
            i++;
        int runEnd = i;
        while (runEnd < end && _hashes[runEnd] == hash)
            runEnd++;
        // Inside the run: the entries whose essential name matches (contiguous, see OrderRunsByName).
        while (i < runEnd && !EssentialEquals(Name(_ids[i]), essential))
            i++;
        int last = i;
        while (last < runEnd && EssentialEquals(Name(_ids[last]), essential))
            last++;
        return new BtfIdRange(_ids, i, last - i);
    }

    /// <summary>This spec's types named exactly <paramref name="name"/>.</summary>
    public BtfIdRange FindExact(ReadOnlySpan<byte> name)
    {
        var group = FindEssential(name[..EssentialLength(name)]);
        int first = 0;
        while (first < group.Length && !Name(group[first]).SequenceEqual(name))
            first++;
        int end = first;
        while (end < group.Length && Name(group[end]).SequenceEqual(name))
            end++;
        return group.Slice(first, end - first);
    }

    private static bool EssentialEquals(ReadOnlySpan<byte> name, ReadOnlySpan<byte> essential) =>
        name.StartsWith(essential) && EssentialLength(name) == essential.Length;

    /// <summary>
    /// Length of the CO-RE essential name: the name without its last "___flavor" suffix, where the "___" must sit
    /// between two characters that are not underscores (libbpf's bpf_core_essential_name_len).
    /// </summary>
    public static int EssentialLength(ReadOnlySpan<byte> name)
    {
        if (name.IndexOf("___"u8) < 0)
            return name.Length;
        for (int i = name.Length - 5; i >= 0; i--)
            if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
                return i + 1;
        return name.Length;
    }

    /// <inheritdoc cref="EssentialLength(ReadOnlySpan{byte})"/>
    public static int EssentialLength(ReadOnlySpan<char> name)
    {
        if (name.IndexOf("___") < 0)
            return name.Length;
        for (int i = name.Length - 5; i >= 0; i--)
            if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
                return i + 1;
        return name.Length;
    }

    // ---- flavoured strings --------------------------------------------------------------------------------------------

    /// <summary>The offsets of the strings that have a flavour suffix, behind a 4096-bit filter that answers most "no"s.</summary>
    private sealed class FlavourSet
    {
        public static readonly FlavourSet Empty = new();
        private readonly ulong[] _filter = new ulong[64];
        private readonly HashSet<uint> _offsets = new();

        private static int Bit(uint offset) => (int)((offset * 0x9E3779B1u) >> 20);

        public void Add(uint offset)
        {
            _offsets.Add(offset);
            _filter[Bit(offset) >> 6] |= 1UL << Bit(offset);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool MayContain(uint offset) => (_filter[Bit(offset) >> 6] & (1UL << Bit(offset))) != 0 && _offsets.Contains(offset);
    }

    private static FlavourSet FlavouredStrings(ReadOnlySpan<byte> strings, uint stringBase)
    {
        FlavourSet? set = null;
        for (int from = 0; ;)
        {
            int hit = IndexOfTripleUnderscore(strings, from);
            if (hit < 0)
                break;
            int start = strings[..hit].LastIndexOf((byte)0) + 1;
            int nul = strings[hit..].IndexOf((byte)0);
            int end = nul < 0 ? strings.Length : hit + nul;
            var s = strings[start..end];
            if (EssentialLength(s) != s.Length)
                (set ??= new()).Add(stringBase + (uint)start);
            from = end;
        }
        return set ?? FlavourSet.Empty;
    }

    /// <summary>
    /// The first "___" at or after <paramref name="from"/>, or -1. Kernel names are full of single and double
    /// underscores, which slow a general substring search down; three vector compares find only real triples.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int IndexOfTripleUnderscore(ReadOnlySpan<byte> s, int from)
    {
        ref byte r = ref MemoryMarshal.GetReference(s);
        // Vector128 rather than Vector<T>: its size is fixed, so ReadyToRun can precompile this (Vector<T> code is left
        // to the JIT, which would compile it at the first kernel BTF lookup of every session).
        var underscore = Vector128.Create((byte)'_');
        int i = from;
        for (; i + Vector128<byte>.Count + 2 <= s.Length; i += Vector128<byte>.Count)
        {
            var triple = Vector128.Equals(Vector128.LoadUnsafe(ref r, (nuint)i), underscore)
                & Vector128.Equals(Vector128.LoadUnsafe(ref r, (nuint)(i + 1)), underscore)
                & Vector128.Equals(Vector128.LoadUnsafe(ref r, (nuint)(i + 2)), underscore);
            if (triple != Vector128<byte>.Zero)
                break;
        }
        for (; i + 2 < s.Length; i++)
            if (s[i] == '_' && s[i + 1] == '_' && s[i + 2] == '_')
                return i;
        return -1;
    }
    // ---- hashing ----------------------------------------------------------------------------------------------------
    // One hash, two ways to compute it: Hash over a span, and HashName over a NUL-terminated string read 8 bytes at a
    // time. Both mix whole little-endian words, then the zero-padded tail and the length.

    private const ulong Seed = 0x9E3779B97F4A7C15UL;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Step(ulong h, ulong word) => BitOperations.RotateLeft((h ^ word) * 0xFF51AFD7ED558CCDUL, 29);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Finish(ulong h, ulong tail, int length)
    {
        h = (h ^ tail ^ ((ulong)length << 56)) * 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        return (uint)h;
    }

    /// <summary>A fast 32-bit hash of a short byte string.</summary>
    internal static uint Hash(ReadOnlySpan<byte> s)
    {
        ulong h = Seed;
        ref byte r = ref MemoryMarshal.GetReference(s);
        int i = 0;
        for (; i + 8 <= s.Length; i += 8)
            h = Step(h, Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref r, i)));
        ulong tail = 0;
        for (int shift = 0; i < s.Length; i++, shift += 8)
            tail |= (ulong)Unsafe.Add(ref r, i) << shift;
        return Finish(h, tail, s.Length);
    }

    // Building runs once per spec, typically right after the process starts: the module ships it precompiled
    // (ReadyToRun, optimized, helpers inlined). AggressiveOptimization would opt these methods out of ReadyToRun and
    // make every session JIT them at its first kernel BTF lookup.

    /// <summary>
    /// Hashes the NUL-terminated string at <paramref name="at"/> exactly as <see cref="Hash"/> hashes its bytes, and
    /// returns its length. The caller guarantees a NUL before the end of <paramref name="raw"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int HashName(ReadOnlySpan<byte> raw, int at, out uint hash)
    {
        ref byte p = ref Unsafe.Add(ref MemoryMarshal.GetReference(raw), at);
        int room = raw.Length - at, length = 0;
        ulong h = Seed;
        while (room - length >= 8)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, length));
            // The first zero byte is exact; bytes after it may be flagged too, which does not matter.
            ulong zeros = (word - 0x0101010101010101UL) & ~word & 0x8080808080808080UL;
            if (zeros != 0)
            {
                int k = BitOperations.TrailingZeroCount(zeros) >> 3;
                length += k;
                hash = Finish(h, k == 0 ? 0 : word & (ulong.MaxValue >> (64 - 8 * k)), length);
                return length;
            }
            h = Step(h, word);
            length += 8;
        }
        // Within 8 bytes of the end of the buffer: finish byte by byte (what is left is shorter than a word).
        ulong tail = 0;
        for (int shift = 0; Unsafe.Add(ref p, length) != 0; shift += 8, length++)
            tail |= (ulong)Unsafe.Add(ref p, length) << shift;
        hash = Finish(h, tail, length);
        return length;
    }
}

/// <summary>Some ids of one spec: a range of an index array.</summary>
internal readonly struct BtfIdRange(uint[]? ids, int start, int length)
{
    public int Length => length;

    public uint this[int index] => ids![start + index];

    public BtfIdRange Slice(int offset, int count) => count == 0 ? default : new BtfIdRange(ids, start + offset, count);

    public void CopyTo(Span<uint> destination) => ids.AsSpan(start, length).CopyTo(destination);

    /// <summary>A read-only list over this range, sharing the index's array.</summary>
    public IReadOnlyList<uint> ToList() => length == 0 ? BtfIdList.Empty : new BtfIdList(ids!, start, length);
}

/// <summary>A read-only window on type ids (an index range or a merged array); the caller cannot reach the array.</summary>
internal sealed class BtfIdList(uint[] ids, int start, int count) : IReadOnlyList<uint>
{
    /// <summary>
    /// The empty list. Not Array.Empty&lt;uint&gt;(): that generic method and enumerating a uint[] through IEnumerable
    /// (SZArrayHelper) are framework code ReadyToRun cannot precompile here, JIT-compiled at the first load of a session.
    /// </summary>
    public static readonly BtfIdList Empty = new(new uint[0], 0, 0);

    public int Count => count;

    public uint this[int index] => (uint)index < (uint)count ? ids[start + index] : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<uint> GetEnumerator()
    {
        for (int i = 0; i < count; i++)
            yield return ids[start + i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"[{string.Join(", ", this)}]";
}
