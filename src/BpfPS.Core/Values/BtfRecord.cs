using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace BpfPS.Core.Values;

/// <summary>
/// A decoded struct, union or data section: an immutable, ordered name → value dictionary in declaration order, with
/// the members of anonymous inner structs and unions flattened into it as C spells them. Values are plain .NET values
/// (numbers, bool, string, byte[], object?[], nested <see cref="BtfRecord"/>). Equality is structural, so two decodes
/// of the same bytes are equal.
/// </summary>
/// <remarks>
/// Also a read-only non-generic <see cref="IDictionary"/>, the shape dynamic languages recognise: PowerShell reads
/// <c>$value.packets</c> through it and treats a record as one object rather than unrolling it in a pipeline.
/// </remarks>
public sealed class BtfRecord : IReadOnlyDictionary<string, object?>, IDictionary, IEquatable<BtfRecord>
{
    private readonly CompositeLayout _layout;
    private readonly object?[] _values;

    internal BtfRecord(CompositeLayout layout, object?[] values)
    {
        _layout = layout;
        _values = values;
    }

    /// <summary>The values in member order, not copied (the record types read them once, when converting).</summary>
    internal object?[] RawValues => _values;

    internal CompositeLayout Layout => _layout;

    /// <summary>The C type this was decoded from: "struct event", "union (anonymous)", "section .data".</summary>
    public string TypeName => _layout.TypeName;

    /// <summary>True when decoded from a union (every member is a view of the same bytes).</summary>
    public bool IsUnion => _layout.IsUnion;

    public int Count => _values.Length;

    /// <summary>Member names in declaration order.</summary>
    public IEnumerable<string> Keys => _layout.Names;

    public IEnumerable<object?> Values => _values;

    /// <summary>The member called <paramref name="name"/> (exact spelling).</summary>
    /// <exception cref="KeyNotFoundException">There is no such member.</exception>
    public object? this[string name] => TryGetValue(name, out var value)
        ? value
        : throw new KeyNotFoundException($"{TypeName} has no member '{name}'");

    public bool ContainsKey(string key) => _layout.IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out object? value)
    {
        int index = _layout.IndexOf(key);
        value = index >= 0 ? _values[index] : null;
        return index >= 0;
    }

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (int i = 0; i < _values.Length; i++)
            yield return new KeyValuePair<string, object?>(_layout.Names[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => new Enumerator(this);

    // ---- IDictionary (read-only) ------------------------------------------------------------------------------------

    object? IDictionary.this[object key]
    {
        get => key is string name && TryGetValue(name, out var value) ? value : null;
        set => throw ReadOnly();
    }

    ICollection IDictionary.Keys => _layout.Names.ToArray();
    ICollection IDictionary.Values => (object?[])_values.Clone();
    bool IDictionary.IsReadOnly => true;
    bool IDictionary.IsFixedSize => true;
    bool IDictionary.Contains(object key) => key is string name && ContainsKey(name);
    IDictionaryEnumerator IDictionary.GetEnumerator() => new Enumerator(this);
    void IDictionary.Add(object key, object? value) => throw ReadOnly();
    void IDictionary.Clear() => throw ReadOnly();
    void IDictionary.Remove(object key) => throw ReadOnly();
    bool ICollection.IsSynchronized => false;
    object ICollection.SyncRoot => this;

    void ICollection.CopyTo(Array array, int index)
    {
        ArgumentNullException.ThrowIfNull(array);
        for (int i = 0; i < _values.Length; i++)
            array.SetValue(new DictionaryEntry(_layout.Names[i], _values[i]), index + i);
    }

    private NotSupportedException ReadOnly() => new($"{TypeName} is a decoded value and cannot be changed; build a hashtable to write one");

    private sealed class Enumerator(BtfRecord record) : IDictionaryEnumerator
    {
        private int _index = -1;

        public bool MoveNext() => ++_index < record._values.Length;
        public void Reset() => _index = -1;
        public DictionaryEntry Entry => _index >= 0 && _index < record._values.Length
            ? new DictionaryEntry(record._layout.Names[_index], record._values[_index])
            : throw new InvalidOperationException("the enumerator is not on an entry");
        public object Key => Entry.Key;
        public object? Value => Entry.Value;
        public object Current => Entry;
    }

    public bool Equals(BtfRecord? other) =>
        other is not null && other._layout.Names.SequenceEqual(_layout.Names) && ValueEquality.Equal(_values, other._values);

    public override bool Equals(object? obj) => obj is BtfRecord other && Equals(other);

    public override int GetHashCode() => ValueEquality.Hash(_values);

    /// <summary>"{ pid = 42, comm = bash }", nested records and arrays spelled the same way.</summary>
    public override string ToString()
    {
        var text = new StringBuilder("{ ");
        for (int i = 0; i < _values.Length; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(_layout.Names[i]).Append(" = ");
            ValueEquality.Append(text, _values[i]);
        }
        return text.Append(_values.Length == 0 ? "}" : " }").ToString();
    }
}
