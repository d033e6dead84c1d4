namespace BpfPS.Core.Loading;

/// <summary>Reported once per program while a collection loads, and once at the end (Done == Total).</summary>
/// <param name="Done">Programs already loaded.</param>
/// <param name="Total">Programs in the collection.</param>
/// <param name="Current">The program being loaded now (null at the end).</param>
public readonly record struct LoadProgress(int Done, int Total, string? Current);
