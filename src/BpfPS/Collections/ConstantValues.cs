using System.Collections;
using System.Management.Automation;

namespace BpfPS;

/// <summary>Turns -Constant @{ name = value } into what the loader takes: string keys, plain .NET values.</summary>
internal static class ConstantValues
{
    public static IReadOnlyDictionary<string, object>? From(Hashtable? table)
    {
        if (table is null || table.Count == 0) return null;
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            var name = LanguagePrimitives.ConvertTo<string>(entry.Key);
            var value = entry.Value is PSObject ps ? ps.BaseObject : entry.Value;
            result[name] = value switch
            {
                null => throw new ArgumentException($"-Constant '{name}' has no value."),
                // PowerShell arrays of numbers arrive as object[]: a byte[] is the only array the loader takes.
                object[] array when array.All(v => (v is PSObject p ? p.BaseObject : v) is byte or int) =>
                    array.Select(v => LanguagePrimitives.ConvertTo<byte>(v)).ToArray(),
                _ => value,
            };
        }
        return result;
    }
}
