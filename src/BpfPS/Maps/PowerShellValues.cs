using System.Collections;
using System.Collections.Specialized;
using System.Management.Automation;
using BpfPS.Core.Values;

namespace BpfPS;

/// <summary>
/// Map keys and values between the core's decoded shapes and what PowerShell users expect: decoded structs become
/// PSCustomObjects (so members are properties for Sort-Object, Where-Object and Format-Table), and whatever a user
/// writes, including those PSCustomObjects, becomes the plain shapes the core encoder reads.
/// </summary>
internal static class PowerShellValues
{
    /// <summary>
    /// A decoded key or value for output: a struct, union or data section (<see cref="BtfRecord"/>) becomes a
    /// PSCustomObject with one property per member in declaration order, nested records and array elements likewise;
    /// numbers, strings, enum names and byte[] are kept as they are.
    /// </summary>
    /// <remarks>
    /// A record whose member names differ only in case (legal in C) stays a <see cref="BtfRecord"/>: PowerShell property
    /// names are case-insensitive, so a PSCustomObject could not hold both.
    /// </remarks>
    public static object? ToPowerShell(object? decoded) => decoded switch
    {
        BtfRecord record => ToObject(record),
        object?[] items => Array.ConvertAll(items, ToPowerShell),
        _ => decoded,
    };

    /// <summary>
    /// The <see cref="ValueAdapter"/> for the core encoder, which calls it on every part of a key or value before
    /// reading it: a PSCustomObject becomes an ordered dictionary of its note properties, an instance of a generated
    /// record class (Receive-BpfEvent -Type) one of its properties, and any other PowerShell wrapper is unwrapped to
    /// its base object. Hashtables, arrays and the parts inside them reach this again as the encoder descends, so
    /// nested PSCustomObjects and records are converted too.
    /// </summary>
    public static object? ToEncodable(object value)
    {
        if (value is PSObject { BaseObject: not PSCustomObject } other)
            value = other.BaseObject;
        if (value is RecordObject record)
            return RecordTypes.ToDictionary(record);   // a generated record class (Receive-BpfEvent -Type)
        if (value is not PSObject wrapped)
            return value;
        var members = new OrderedDictionary(StringComparer.OrdinalIgnoreCase);
        foreach (var property in wrapped.Properties)
        {
            if (property is PSNoteProperty note)
                members[note.Name] = note.Value;
        }
        return members;
    }

    private static object ToObject(BtfRecord record)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in record.Keys)
        {
            if (!names.Add(name))
                return record;
        }
        var result = new PSObject();
        foreach (var (name, value) in record)
            result.Properties.Add(new PSNoteProperty(name, ToPowerShell(value)));
        return result;
    }

    /// <summary>Parts shown per level, and levels shown, by <see cref="Describe"/>: messages stay one readable line.</summary>
    private const int PartsShown = 8, LevelsShown = 4;

    /// <summary>A key or value for messages (ShouldProcess, errors): hashtables and objects spelled out, briefly.</summary>
    public static string Describe(object? value) => Describe(value, 0);

    private static string Describe(object? value, int level)
    {
        var plain = value is null ? null : ToEncodable(value);
        if (plain is string text) return text;
        if (plain is IDictionary or IEnumerable && level >= LevelsShown) return "...";
        return plain switch
        {
            IDictionary members => "@{" + Join(members.Cast<DictionaryEntry>().Select(e => $"{e.Key}={Describe(e.Value, level + 1)}"), "; ") + "}",
            IEnumerable items => "@(" + Join(items.Cast<object?>().Select(item => Describe(item, level + 1)), ", ") + ")",
            null => "null",
            var other => other.ToString() ?? "",
        };
    }

    private static string Join(IEnumerable<string> parts, string separator)
    {
        var shown = parts.Take(PartsShown + 1).ToList();
        return shown.Count > PartsShown ? string.Join(separator, shown.Take(PartsShown)) + separator + "..." : string.Join(separator, shown);
    }
}
