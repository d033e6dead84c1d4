using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace BpfPS.Core.Loading;

/// <summary>
/// Resolved __ksym externs by name, in resolution order: an array indexed through a Dictionary&lt;string, int&gt;.
/// Dictionary&lt;string, ResolvedKsym&gt; and ImmutableDictionary&lt;string, ResolvedKsym&gt; are framework generics over a
/// core struct that ReadyToRun cannot precompile into this assembly, so they were JIT-compiled at the first load of
/// every session; this type is the core's own.
/// </summary>
internal sealed class KsymTable : IReadOnlyDictionary<string, ResolvedKsym>
{
    private static readonly ResolvedKsym[] NoItems = new ResolvedKsym[0];
    private ResolvedKsym[] _items = NoItems;
    private int _count;
    private Dictionary<string, int>? _index; // made by the first Set

    /// <summary>An empty table (never changed: only the resolver adds, to tables it creates).</summary>
    public static readonly KsymTable Empty = new();

    /// <summary>Adds or replaces the entry named <see cref="ResolvedKsym.Name"/>.</summary>
    public void Set(in ResolvedKsym ksym)
    {
        _index ??= new Dictionary<string, int>(StringComparer.Ordinal);
        if (_index.TryGetValue(ksym.Name, out int at))
        {
            _items[at] = ksym;
            return;
        }
        if (_count == _items.Length)
        {
            var items = new ResolvedKsym[Math.Max(4, _count * 2)];
            Array.Copy(_items, items, _count);
            _items = items;
        }
        _index.Add(ksym.Name, _count);
        _items[_count++] = ksym;
    }

    /// <summary>The entries in resolution order (by reference: no copy, no enumerator).</summary>
    public ref readonly ResolvedKsym At(int index)
    {
        if ((uint)index >= (uint)_count) throw new ArgumentOutOfRangeException(nameof(index));
        return ref _items[index];
    }

    public int Count => _count;

    public ResolvedKsym this[string key] =>
        TryGetValue(key, out var ksym) ? ksym : throw new KeyNotFoundException($"no ksym named '{key}'");

    public IEnumerable<string> Keys
    {
        get
        {
            for (int i = 0; i < _count; i++) yield return _items[i].Name;
        }
    }

    public IEnumerable<ResolvedKsym> Values
    {
        get
        {
            for (int i = 0; i < _count; i++) yield return _items[i];
        }
    }

    public bool ContainsKey(string key) => _index is not null && _index.ContainsKey(key);

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out ResolvedKsym value)
    {
        if (_index is not null && _index.TryGetValue(key, out int at))
        {
            value = _items[at];
            return true;
        }
        value = default;
        return false;
    }

    public IEnumerator<KeyValuePair<string, ResolvedKsym>> GetEnumerator()
    {
        for (int i = 0; i < _count; i++) yield return new KeyValuePair<string, ResolvedKsym>(_items[i].Name, _items[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
