using System.Management.Automation.Runspaces;

namespace BpfPS;

/// <summary>
/// The collections each runspace has loaded. Kernel objects must not outlive the session that made them by accident:
/// when the runspace closes (or the module is removed) every collection it still holds is disposed.
/// </summary>
internal static class RunspaceCollections
{
    private static readonly RunspaceOwned<BpfCollection> s_loaded = new(c => c.IsDisposed, disposeNewestFirst: false);

    public static void Add(Runspace? runspace, BpfCollection collection) => s_loaded.Add(runspace, collection);

    /// <summary>This runspace's live collections, oldest first.</summary>
    public static IReadOnlyList<BpfCollection> List(Runspace? runspace) => s_loaded.List(runspace);

    /// <summary>Disposes one collection and forgets it.</summary>
    public static void Remove(Runspace? runspace, BpfCollection collection) => s_loaded.Remove(runspace, collection);

    /// <summary>Disposes everything the runspace loaded; returns how many were still loaded.</summary>
    public static int DisposeAll(Runspace? runspace) => s_loaded.DisposeAll(runspace);
}
