namespace BpfPS.Core.Collections;

/// <summary>
/// A growable array for the load path. Framework generics (List&lt;T&gt;, ImmutableArray&lt;T&gt;.Builder) instantiated
/// over the core's value types cannot be precompiled into this ReadyToRun assembly (their code lives outside its version
/// bubble), so the JIT compiled them at the first load of every session. This type is part of the assembly: its
/// instantiations over the core's types are precompiled. It uses no framework generics over T (only Array.Copy).
/// </summary>
internal sealed class ValueList<T>
{
    private T[] _items;
    private int _count;

    public ValueList() => _items = Empty;

    public ValueList(int capacity) => _items = capacity <= 0 ? Empty : new T[capacity];

    /// <summary>A shared empty array (an array of no elements holds no state).</summary>
    public static readonly T[] Empty = new T[0];

    public int Count => _count;

    /// <summary>The room before the list grows; setting it below <see cref="Count"/> throws.</summary>
    public int Capacity
    {
        get => _items.Length;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, _count);
            if (value == _items.Length) return;
            var items = value == 0 ? Empty : new T[value];
            Array.Copy(_items, items, _count);
            _items = items;
        }
    }

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
            return ref _items[index];
        }
    }

    public void Add(in T item)
    {
        if (_count == _items.Length) Capacity = Math.Max(4, _items.Length * 2);
        _items[_count++] = item;
    }

    /// <summary>
    /// The elements as an exactly sized array (the list's own buffer when it is full, so a list sized up front hands its
    /// array over without a copy); the list is empty afterwards.
    /// </summary>
    public T[] DrainToArray()
    {
        T[] result;
        if (_count == _items.Length) result = _items;
        else
        {
            result = new T[_count];
            Array.Copy(_items, result, _count);
        }
        _items = Empty;
        _count = 0;
        return result;
    }

    /// <summary>
    /// Sorts stably by <paramref name="compare"/>. Already sorted elements (the usual case) cost one pass and no
    /// allocation; otherwise a merge sort with one scratch array, O(n log n) on any input.
    /// </summary>
    public void Sort(Comparison<T> compare)
    {
        int i = 1;
        while (i < _count && compare(_items[i - 1], _items[i]) <= 0) i++;
        if (i >= _count) return;
        var scratch = new T[_count];
        for (int width = 1; width < _count; width *= 2)
        {
            for (int lo = 0; lo < _count; lo += 2 * width)
            {
                int mid = Math.Min(lo + width, _count), hi = Math.Min(lo + 2 * width, _count);
                int a = lo, b = mid, o = lo;
                while (a < mid && b < hi) scratch[o++] = compare(_items[b], _items[a]) < 0 ? _items[b++] : _items[a++];
                while (a < mid) scratch[o++] = _items[a++];
                while (b < hi) scratch[o++] = _items[b++];
            }
            (_items, scratch) = (scratch, _items);
        }
    }

    public Enumerator GetEnumerator() => new(this);

    /// <summary>Enumerates by value, like List&lt;T&gt;'s enumerator (without its version check).</summary>
    public struct Enumerator
    {
        private readonly ValueList<T> _list;
        private int _index;

        internal Enumerator(ValueList<T> list) { _list = list; _index = -1; }

        public bool MoveNext() => ++_index < _list._count;

        public readonly T Current => _list._items[_index];
    }
}
