using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;

namespace BpfPS;

/// <summary>Selecting loaded collections by file name, the way Get-Process selects by name.</summary>
internal static class CollectionNames
{
    /// <summary>
    /// Collections whose Name matches any of <paramref name="names"/> (all when null); a name without wildcards that
    /// matches nothing is an ObjectNotFound error.
    /// </summary>
    public static IEnumerable<BpfCollection> Match(Cmdlet cmdlet, IReadOnlyList<BpfCollection> loaded, string[]? names)
    {
        if (names is null) return loaded;
        var result = new List<BpfCollection>();
        foreach (var name in names)
        {
            var pattern = WildcardPattern.Get(name, WildcardOptions.IgnoreCase);
            var matches = loaded.Where(c => pattern.IsMatch(c.Name)).ToList();
            if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(name))
                cmdlet.WriteError(new ErrorRecord(new ItemNotFoundException($"No loaded collection is named '{name}'."),
                    "CollectionNotFound", ErrorCategory.ObjectNotFound, name));
            result.AddRange(matches.Where(m => !result.Contains(m)));
        }
        return result;
    }
}

/// <summary>Tab completion of the names of this runspace's loaded collections.</summary>
public sealed class BpfCollectionNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        return RunspaceCollections.List(Runspace.DefaultRunspace)
            .Select(c => c.Name)
            .Distinct(StringComparer.Ordinal)
            .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, n));
    }
}
