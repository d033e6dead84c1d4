using System.Management.Automation.Runspaces;
using BpfPS.Core.Btf;
using BpfPS.Core.Events;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// The BTF that holds a map's record types: the object's own when the map came from a collection this runspace loaded,
/// else the BTF of a loaded program that uses the map (how maps given by id, pin or from another runspace find theirs).
/// </summary>
internal static class EventBtfLookup
{
    public static BtfSpec? For(object? argument, uint mapId)
    {
        if (argument is LoadedMap loaded)
        {
            foreach (var collection in RunspaceCollections.List(Runspace.DefaultRunspace))
                if (collection.Maps.Values.Any(m => ReferenceEquals(m, loaded)) && collection.Collection.Spec.Btf is { } own)
                    return own;
        }
        return EventBtf.FromProgramsUsing(mapId);
    }
}
