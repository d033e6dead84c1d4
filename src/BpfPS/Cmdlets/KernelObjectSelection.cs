using System.Management.Automation;

namespace BpfPS;

/// <summary>Selecting listed kernel objects by name, the way Get-Process does.</summary>
internal static class KernelObjectSelection
{
    /// <summary>
    /// Items whose name matches any of <paramref name="names"/> (every item when null); a name without wildcards that
    /// matches nothing is an ObjectNotFound error.
    /// </summary>
    public static IEnumerable<T> ByName<T>(Cmdlet cmdlet, IReadOnlyList<T> items, Func<T, string> nameOf, string[]? names, string what)
    {
        if (names is null) return items;
        var patterns = names.Select(n => WildcardPattern.Get(n, WildcardOptions.IgnoreCase)).ToArray();
        foreach (var name in names.Where(n => !WildcardPattern.ContainsWildcardCharacters(n)))
        {
            if (!items.Any(i => string.Equals(nameOf(i), name, StringComparison.OrdinalIgnoreCase)))
                cmdlet.WriteError(new ErrorRecord(new ItemNotFoundException($"No {what} named '{name}' is loaded."),
                    $"{char.ToUpperInvariant(what[0])}{what[1..]}NotFound", ErrorCategory.ObjectNotFound, name));
        }
        return items.Where(i => patterns.Any(p => p.IsMatch(nameOf(i))));
    }
}
