namespace BpfPS;

/// <summary>
/// One map entry as Get-BpfMapEntry returns it: the map's name and kernel id, and the key and value decoded through the
/// map's BTF: numbers, strings, enum names, PSCustomObjects for structs (members as properties, nested structs alike),
/// arrays as arrays; byte[] when the map has no BTF; for per-CPU maps, Value is an array with one value per CPU.
/// </summary>
/// <remarks>
/// Piped to Set-BpfMapEntry or Remove-BpfMapEntry, an entry binds its Key and Value by property name, and without -Map
/// it names its own map by <see cref="MapId"/>.
/// </remarks>
public sealed record BpfMapEntry(string Map, uint MapId, object? Key, object? Value)
{
    /// <summary>An entry of <paramref name="map"/> from the core's decoded key and value.</summary>
    internal static BpfMapEntry FromDecoded(KernelObjectHandle map, object? key, object? value) =>
        new(map.Name, map.Id, PowerShellValues.ToPowerShell(key), PowerShellValues.ToPowerShell(value));
}
