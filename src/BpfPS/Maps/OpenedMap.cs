using System.Management.Automation;
using BpfPS.Core.Loading;
using BpfPS.Core.Maps;

namespace BpfPS;

/// <summary>
/// The map an entry cmdlet works on, opened on first use and kept while the next records name the same map, so piping
/// a thousand entries into Set-BpfMapEntry opens the map (and fetches its BTF) once. The cmdlet disposes it.
/// </summary>
internal sealed class OpenedMap : IDisposable
{
    private object? _argument;
    private KernelObjectHandle? _handle;
    private MapEntries? _entries;

    /// <summary>
    /// The map <paramref name="argument"/> names, as <see cref="KernelObjectArguments.Map"/> resolves it (a loaded map,
    /// a map from Get-BpfMap, an id, a pin path or a loaded map's name), or an entry from Get-BpfMapEntry (its map, by id).
    /// </summary>
    /// <exception cref="ArgumentException">The argument names no map.</exception>
    /// <exception cref="ItemNotFoundException">No loaded map has that name.</exception>
    public (KernelObjectHandle Map, MapEntries Entries) Open(PSCmdlet cmdlet, object? argument)
    {
        var target = KernelObjectArguments.Unwrap(argument);
        if (target is BpfMapEntry entry)
            target = entry.MapId;
        if (_handle is not null && _entries is not null && !_handle.Fd.IsClosed && Equals(target, _argument))
            return (_handle, _entries);

        Dispose();
        var handle = KernelObjectArguments.Map(cmdlet, target);
        try
        {
            // A loaded map already has its object's BTF; any other map gets the BTF it was created with, by id.
            var entries = target is LoadedMap loaded ? MapEntries.For(loaded) : MapEntries.Open(handle.Fd, name: handle.Name);
            entries.Adapter = PowerShellValues.ToEncodable;
            (_argument, _handle, _entries) = (target, handle, entries);
            return (handle, entries);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _handle?.Dispose();
        (_argument, _handle, _entries) = (null, null, null);
    }
}
