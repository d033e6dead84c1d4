using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// The map-entry cmdlets' two ways of naming a map: -Map (anything <see cref="OpenedMap"/> opens), or -Collection and
/// the map's -Name in it.
/// </summary>
internal static class MapSelection
{
    public const string MapSet = "Map", CollectionSet = "Collection";

    /// <summary>
    /// What to open: <paramref name="map"/> itself, or <paramref name="collection"/>'s map called <paramref name="name"/>;
    /// null after writing an ObjectNotFound error when the collection has no such map.
    /// </summary>
    public static object? Argument(Cmdlet cmdlet, object? map, BpfCollection? collection, string? name)
    {
        if (collection is null)
            return map;
        if (collection.Maps.TryGetValue(name!, out var loaded))
            return loaded;
        cmdlet.WriteError(new ErrorRecord(
            new ItemNotFoundException($"{collection.Name} has no map '{name}' (it has: {string.Join(", ", collection.Maps.Keys)})."),
            "MapNotFound", ErrorCategory.ObjectNotFound, name));
        return null;
    }
}

/// <summary>Tab completion of map names from the collection given with -Collection, else from every loaded collection.</summary>
public sealed class LoadedMapNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        var collections = fakeBoundParameters["Collection"] is { } bound && (bound is PSObject p ? p.BaseObject : bound) is BpfCollection one
            ? [one]
            : RunspaceCollections.List(Runspace.DefaultRunspace);
        return collections
            .SelectMany(c => c.Maps.Values)
            .Where(m => m.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(m => m.Name)
            .Select(m => new CompletionResult(m.Name, m.Name, CompletionResultType.ParameterValue, $"{m.Type} map, {m.KeySize}-byte keys, {m.ValueSize}-byte values"));
    }
}
