using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Loading;
using BpfPS.Core.Maps;

namespace BpfPS;

/// <summary>The map cmdlets' two ways of naming a map: the map itself (piped), or a collection and the map's name.</summary>
internal static class MapSelection
{
    public const string MapSet = "Map", CollectionSet = "Collection";

    /// <summary>The map to work on, or null after writing an error saying why there is none.</summary>
    public static LoadedMap? Resolve(Cmdlet cmdlet, LoadedMap? map, BpfCollection? collection, string? name)
    {
        if (map is null)
        {
            if (!collection!.Maps.TryGetValue(name!, out map))
            {
                cmdlet.WriteError(new ErrorRecord(
                    new ItemNotFoundException($"{collection.Name} has no map '{name}' (it has: {string.Join(", ", collection.Maps.Keys)})."),
                    "MapNotFound", ErrorCategory.ObjectNotFound, name));
                return null;
            }
        }
        if (map.Fd.IsClosed)
        {
            cmdlet.WriteError(new ErrorRecord(new InvalidOperationException($"Map '{map.Name}' was removed with its collection."),
                "MapRemoved", ErrorCategory.InvalidOperation, map));
            return null;
        }
        return map;
    }

    /// <summary>Decoded access to the map's entries; PowerShell's wrappers are unwrapped before encoding.</summary>
    public static MapEntries Entries(LoadedMap map) =>
        new(map.Fd, Info(map), map.Btf, map.KeyTypeId, map.ValueTypeId, map.Name) { Adapter = Unwrap };

    private static Core.Kernel.BpfMapInfo Info(LoadedMap map) => new()
    {
        Type = map.Type, Id = map.Id, KeySize = map.KeySize, ValueSize = map.ValueSize, MaxEntries = map.MaxEntries,
        Flags = map.Flags, Name = map.KernelName,
    };

    private static object? Unwrap(object value) => value is PSObject ps ? ps.BaseObject : value;
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
