using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>
/// Tab completion of BTF type names from the kernel spec the runspace already holds (or loads once). Completes only
/// names that start with what was typed (or match it, when it has wildcards), honours -Kind, and stops at
/// <see cref="MaxResults"/> so a short prefix over 126k types stays instant.
/// </summary>
public sealed class BtfTypeNameCompleter : IArgumentCompleter
{
    /// <summary>At most this many completions per Tab.</summary>
    public const int MaxResults = 100;

    // Sorted distinct names per spec, built once on the first completion against that spec.
    private static readonly ConditionalWeakTable<BtfSpec, string[]> s_sortedNames = new();

    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        BtfSpec spec;
        try
        {
            spec = RunspaceBtfCache.GetKernel(Runspace.DefaultRunspace);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            return []; // no kernel BTF here: nothing to offer
        }

        var kinds = KindsFrom(fakeBoundParameters);
        var word = wordToComplete.Trim('\'', '"');
        var names = s_sortedNames.GetValue(spec, SortedNames);
        var matches = WildcardPattern.ContainsWildcardCharacters(word) ? Matching(names, word) : StartingWith(names, word);

        var results = new List<CompletionResult>(Math.Min(MaxResults, 16));
        foreach (var name in matches)
        {
            var ids = spec.FindByName(name);
            var id = ids.FirstOrDefault(i => kinds is null || kinds.Contains(spec.GetKind(i)));
            if (id == 0) continue;
            results.Add(new CompletionResult(name, name, CompletionResultType.ParameterValue, Describe(spec, ids)));
            if (results.Count == MaxResults) break;
        }
        return results;
    }

    internal static string[] SortedNames(BtfSpec spec)
    {
        var set = new HashSet<string>(StringComparer.Ordinal);
        for (var id = spec.FirstTypeId; id < spec.NextTypeId; id++)
        {
            var name = spec.GetName(id);
            if (name.Length > 0) set.Add(name);
        }
        var names = set.ToArray();
        Array.Sort(names, StringComparer.OrdinalIgnoreCase);
        return names;
    }

    private static IEnumerable<string> StartingWith(string[] sorted, string prefix)
    {
        // Binary search for the first name >= prefix (case-insensitively), then walk while the prefix holds.
        int lo = 0, hi = sorted.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (StringComparer.OrdinalIgnoreCase.Compare(sorted[mid], prefix) < 0) lo = mid + 1;
            else hi = mid;
        }
        for (var i = lo; i < sorted.Length && sorted[i].StartsWith(prefix, StringComparison.OrdinalIgnoreCase); i++)
            yield return sorted[i];
    }

    private static IEnumerable<string> Matching(string[] sorted, string pattern)
    {
        var wildcard = WildcardPattern.Get(pattern, WildcardOptions.IgnoreCase | WildcardOptions.CultureInvariant);
        return sorted.Where(wildcard.IsMatch);
    }

    private static HashSet<BtfKind>? KindsFrom(IDictionary fakeBoundParameters)
    {
        if (!fakeBoundParameters.Contains("Kind")) return null;
        var kinds = new HashSet<BtfKind>();
        foreach (var value in LanguagePrimitives.GetEnumerable(fakeBoundParameters["Kind"]) ?? new[] { fakeBoundParameters["Kind"] })
        {
            if (LanguagePrimitives.TryConvertTo<BtfKind>(value, out var kind)) kinds.Add(kind);
        }
        return kinds.Count > 0 ? kinds : null;
    }

    private static string Describe(BtfSpec spec, IReadOnlyList<uint> ids) =>
        string.Join(", ", ids.Take(4).Select(id => $"{spec.GetKind(id)} #{id}")) + (ids.Count > 4 ? ", ..." : "");
}
