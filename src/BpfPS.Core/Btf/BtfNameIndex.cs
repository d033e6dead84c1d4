using System.Collections;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BpfPS.Core.Btf;

/// <summary>
/// The name index of one spec's own types, built once and read-only afterwards: flat arrays instead of a dictionary of
/// strings. <see cref="_slots"/> is an open-addressing hash table (linear probing) keyed by the UTF-8 bytes of a CO-RE
/// essential name; a slot holds the name's 32-bit hash and either the one type id with that essential name (the
/// common case: 70.8k names for 71.2k named types in vmlinux) or a group number. A group's ids sit contiguously in
/// <see cref="_groupIds"/>, ascending, and for a group mixing flavours ("foo", "foo___v2") ordered by full name first,
/// so an exact-name lookup is a contiguous range too. Names are compared against the string section in place, so no
/// name is ever copied; for vmlinux the index is about 1 MB, and building it touches little memory besides the table.
/// </summary>
internal sealed class BtfNameIndex
{
    private const uint GroupFlag = 0x8000_0000;

    private readonly BtfSpec _spec;
    /// <summary>0 for an empty slot, else (hash &lt;&lt; 32) | type id, or (hash &lt;&lt; 32) | GroupFlag | group.</summary>
    private readonly ulong[] _slots;
    private readonly int[] _groupStart;
    private readonly uint[] _groupIds;

    private BtfNameIndex(BtfSpec spec, ulong[] slots, int[] groupStart, uint[] groupIds)
    {
        _spec = spec;
        _slots = slots;
        _groupStart = groupStart;
        _groupIds = groupIds;
    }

    /// <summary>Bytes the index keeps alive (for the memory figures).</summary>
    internal long RetainedBytes => 8L * _slots.Length + 4L * (_groupStart.Length + _groupIds.Length);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static BtfNameIndex Build(BtfSpec spec)
    {
        var raw = spec.RawBytes.Span;
        ref byte r0 = ref MemoryMarshal.GetReference(raw);
        uint[] offsets = spec.TypeSectionOffsets;
        int typeStart = spec.TypeSectionStart, stringStart = spec.StringSectionStart, count = spec.TypeCount;
        uint stringBase = spec.StringBase, stringLength = (uint)spec.StringSectionLength, firstId = spec.FirstTypeId;

        // About half of all types are named; the table doubles if that guess is low.
        var slots = new ulong[BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, count * 3 / 4))];
        int used = 0;
        // Groups: the first id of each, then (group, id) for every member in id order.
        var groupFirst = new List<uint>();
        var members = new List<(int Group, uint Id)>();
        List<int>? flavouredGroups = null;

        for (int index = 0; index < count; index++)
        {
            uint nameOff = Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref r0, typeStart + (int)offsets[index]));
            if (nameOff == 0)
                continue;
            uint hash;
            bool isFlavour = false;
            if (nameOff >= stringBase && nameOff - stringBase < stringLength)
            {
                int at = stringStart + (int)(nameOff - stringBase);
                int length = HashName(raw, at, out hash, out bool hasDoubleUnderscore);
                if (length == 0)
                    continue;
                if (hasDoubleUnderscore)
                {
                    var name = raw.Slice(at, length);
                    int essential = EssentialLength(name);
                    if (essential != length)
                    {
                        hash = Hash(name[..essential]);
                        isFlavour = true;
                    }
                }
            }
            else
            {
                // A split spec's type named from the base's strings (or a bad offset, which StringBytes reports).
                var name = spec.StringBytes(nameOff);
                if (name.IsEmpty)
                    continue;
                int essential = EssentialLength(name);
                hash = Hash(name[..essential]);
                isFlavour = essential != name.Length;
            }

            uint id = firstId + (uint)index;
            int mask = slots.Length - 1;
            for (int slot = (int)hash & mask; ; slot = (slot + 1) & mask)
            {
                ulong entry = slots[slot];
                if (entry == 0)
                {
                    slots[slot] = ((ulong)hash << 32) | id;
                    if (++used > slots.Length / 4 * 3)
                        slots = Grow(slots);
                    break;
                }
                if ((uint)(entry >> 32) != hash)
                    continue;
                uint payload = (uint)entry;
                bool isGroup = (payload & GroupFlag) != 0;
                uint rep = isGroup ? groupFirst[(int)(payload & ~GroupFlag)] : payload;
                if (!EssentialEquals(spec, rep, id))
                    continue;
                int group;
                if (isGroup)
                    group = (int)(payload & ~GroupFlag);
                else
                {
                    group = groupFirst.Count;
                    groupFirst.Add(rep);
                    members.Add((group, rep));
                    slots[slot] = ((ulong)hash << 32) | GroupFlag | (uint)group;
                }
                members.Add((group, id));
                if (isFlavour || (!isGroup && IsFlavourName(spec, rep)))
                    (flavouredGroups ??= new()).Add(group);
                break;
            }
        }

        // Lay the groups out contiguously (a counting sort that keeps id order).
        int groups = groupFirst.Count;
        var groupStart = new int[groups + 1];
        foreach (var (group, _) in members)
            groupStart[group + 1]++;
        for (int g = 0; g < groups; g++)
            groupStart[g + 1] += groupStart[g];
        var cursor = groupStart[..groups];
        var groupIds = new uint[members.Count];
        foreach (var (group, id) in members)
            groupIds[cursor[group]++] = id;

        if (flavouredGroups is not null)
            foreach (int g in flavouredGroups)
                groupIds.AsSpan(groupStart[g], groupStart[g + 1] - groupStart[g]).Sort((a, b) =>
                {
                    int byName = spec.StringBytes(NameOffset(spec, a)).SequenceCompareTo(spec.StringBytes(NameOffset(spec, b)));
                    return byName != 0 ? byName : a.CompareTo(b);
                });
        return new BtfNameIndex(spec, slots, groupStart, groupIds);
    }

    private static ulong[] Grow(ulong[] slots)
    {
        var bigger = new ulong[slots.Length * 2];
        int mask = bigger.Length - 1;
        foreach (ulong entry in slots)
        {
            if (entry == 0)
                continue;
            int slot = (int)(entry >> 32) & mask;
            while (bigger[slot] != 0)
                slot = (slot + 1) & mask;
            bigger[slot] = entry;
        }
        return bigger;
    }

    private static bool IsFlavourName(BtfSpec spec, uint id)
    {
        var name = spec.StringBytes(NameOffset(spec, id));
        return EssentialLength(name) != name.Length;
    }

    /// <summary>This spec's types whose essential name is <paramref name="essential"/>.</summary>
    public BtfIdRange FindEssential(ReadOnlySpan<byte> essential)
    {
        if (essential.IsEmpty)
            return default;
        uint hash = Hash(essential);
        int mask = _slots.Length - 1;
        for (int slot = (int)hash & mask; ; slot = (slot + 1) & mask)
        {
            ulong entry = _slots[slot];
            if (entry == 0)
                return default;
            if ((uint)(entry >> 32) != hash)
                continue;
            uint payload = (uint)entry;
            var range = (payload & GroupFlag) == 0
                ? new BtfIdRange(null, 0, 1, payload)
                : new BtfIdRange(_groupIds, _groupStart[payload & ~GroupFlag], _groupStart[(payload & ~GroupFlag) + 1] - _groupStart[payload & ~GroupFlag], 0);
            var name = _spec.StringBytes(NameOffset(_spec, range[0]));
            if (name.StartsWith(essential) && EssentialLength(name) == essential.Length)
                return range;
        }
    }

    /// <summary>This spec's types named exactly <paramref name="name"/>.</summary>
    public BtfIdRange FindExact(ReadOnlySpan<byte> name)
    {
        var group = FindEssential(name[..EssentialLength(name)]);
        int first = 0;
        while (first < group.Length && !NameEquals(group[first], name))
            first++;
        int end = first;
        while (end < group.Length && NameEquals(group[end], name))
            end++;
        return group.Slice(first, end - first);
    }

    private bool NameEquals(uint id, ReadOnlySpan<byte> name) => _spec.StringBytes(NameOffset(_spec, id)).SequenceEqual(name);

    private static uint NameOffset(BtfSpec spec, uint id) => spec.U32At(spec.TypeOffset(id - spec.FirstTypeId));

    private static bool EssentialEquals(BtfSpec spec, uint a, uint b)
    {
        var x = spec.StringBytes(NameOffset(spec, a));
        var y = spec.StringBytes(NameOffset(spec, b));
        return x[..EssentialLength(x)].SequenceEqual(y[..EssentialLength(y)]);
    }

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

    // ---- hashing ----------------------------------------------------------------------------------------------------
    // One hash, two ways to compute it: Hash over a span, and HashName over a NUL-terminated string read 8 bytes at a
    // time (finding the NUL and any "__" in the same pass). Both mix whole little-endian words, then the zero-padded
    // tail and the length.

    private const ulong Seed = 0x9E3779B97F4A7C15UL, Lanes7F = 0x7F7F7F7F7F7F7F7FUL, Underscores = 0x5F5F5F5F5F5F5F5FUL;

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

    /// <summary>0x80 in each byte of <paramref name="x"/> that is zero, nothing elsewhere (exact: no borrow between bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroBytes(ulong x) => ~(((x & Lanes7F) + Lanes7F) | x | Lanes7F);

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

    /// <summary>
    /// Hashes the NUL-terminated string at <paramref name="at"/> exactly as <see cref="Hash"/> hashes its bytes, and
    /// returns its length; also says whether it holds "__" (only such names can carry a flavour suffix).
    /// The caller guarantees a NUL before the end of <paramref name="raw"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HashName(ReadOnlySpan<byte> raw, int at, out uint hash, out bool hasDoubleUnderscore)
    {
        ref byte p = ref Unsafe.Add(ref MemoryMarshal.GetReference(raw), at);
        int room = raw.Length - at, length = 0;
        ulong h = Seed, previous = 0;
        bool pair = false;
        while (room - length >= 8)
        {
            ulong word = Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref p, length));
            ulong zeros = ZeroBytes(word);
            ulong under = ZeroBytes(word ^ Underscores);
            if (zeros != 0)
            {
                int k = BitOperations.TrailingZeroCount(zeros) >> 3;
                ulong keep = k == 0 ? 0 : ulong.MaxValue >> (64 - 8 * k);
                under &= keep;
                pair |= (under & (under >> 8)) != 0 || ((previous >> 56) & under) != 0;
                length += k;
                hash = Finish(h, word & keep, length);
                hasDoubleUnderscore = pair;
                return length;
            }
            pair |= (under & (under >> 8)) != 0 || ((previous >> 56) & under) != 0;
            previous = under;
            h = Step(h, word);
            length += 8;
        }
        // Within 8 bytes of the end of the buffer: finish byte by byte (what is left is shorter than a word).
        ulong tail = 0;
        bool lastWasUnderscore = (previous >> 63) != 0;
        for (int shift = 0; ; shift += 8, length++)
        {
            byte b = Unsafe.Add(ref p, length);
            if (b == 0)
                break;
            pair |= lastWasUnderscore && b == '_';
            lastWasUnderscore = b == '_';
            tail |= (ulong)b << shift;
        }
        hash = Finish(h, tail, length);
        hasDoubleUnderscore = pair;
        return length;
    }
}

/// <summary>Some ids of one spec: a single id, or a range of an index array.</summary>
internal readonly struct BtfIdRange
{
    private readonly uint[]? _ids;
    private readonly int _start;
    private readonly uint _single;

    public BtfIdRange(uint[]? ids, int start, int length, uint single)
    {
        _ids = ids;
        _start = start;
        Length = length;
        _single = single;
    }

    public int Length { get; }

    public uint this[int index] => _ids is null ? _single : _ids[_start + index];

    public BtfIdRange Slice(int start, int length) => length == 0 ? default
        : _ids is null ? this : new BtfIdRange(_ids, _start + start, length, 0);

    public void CopyTo(Span<uint> destination)
    {
        if (_ids is null)
        {
            if (Length == 1) destination[0] = _single;
        }
        else
            _ids.AsSpan(_start, Length).CopyTo(destination);
    }

    /// <summary>A read-only list over this range, sharing the index's array.</summary>
    public IReadOnlyList<uint> ToList() => Length == 0 ? Array.Empty<uint>() : new BtfIdList(_ids, _start, Length, _single);
}

/// <summary>A read-only window on type ids (an index range, one id, or a merged array); the caller cannot reach the array.</summary>
internal sealed class BtfIdList : IReadOnlyList<uint>
{
    private readonly uint[]? _ids;
    private readonly int _start;
    private readonly uint _single;

    public BtfIdList(uint[]? ids, int start, int count, uint single = 0)
    {
        _ids = ids;
        _start = start;
        _single = single;
        Count = count;
    }

    public int Count { get; }

    public uint this[int index] => (uint)index >= (uint)Count ? throw new ArgumentOutOfRangeException(nameof(index))
        : _ids is null ? _single : _ids[_start + index];

    public IEnumerator<uint> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
            yield return this[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"[{string.Join(", ", this)}]";
}
