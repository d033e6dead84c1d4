namespace BpfPS;

/// <summary>
/// One map entry as Get-BpfMapEntry returns it: the map's name, and the key and value decoded through the map's BTF
/// (numbers, strings, records with named fields; byte[] when the map has no BTF; one value per CPU for per-CPU maps).
/// </summary>
public sealed record BpfMapEntry(string Map, object? Key, object? Value);
