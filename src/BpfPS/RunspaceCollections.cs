using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace BpfPS;

/// <summary>
/// The collections each runspace has loaded. Kernel objects must not outlive the session that made them by accident:
/// when the runspace closes (or the module is removed) every collection it still holds is disposed.
/// </summary>
internal static class RunspaceCollections
{
    private sealed class Loaded
    {
        public readonly List<BpfCollection> Items = [];
    }

    private static readonly ConditionalWeakTable<Runspace, Loaded> s_loaded = new();

    public static void Add(Runspace? runspace, BpfCollection collection)
    {
        if (runspace is null) return; // not in a runspace: the caller owns it
        var loaded = s_loaded.GetValue(runspace, static rs =>
        {
            rs.StateChanged += OnRunspaceStateChanged;
            return new Loaded();
        });
        lock (loaded) loaded.Items.Add(collection);
    }

    /// <summary>This runspace's live collections, oldest first.</summary>
    public static IReadOnlyList<BpfCollection> List(Runspace? runspace)
    {
        if (runspace is null || !s_loaded.TryGetValue(runspace, out var loaded)) return [];
        lock (loaded) return loaded.Items.Where(c => !c.IsDisposed).ToArray();
    }

    /// <summary>Disposes one collection and forgets it.</summary>
    public static void Remove(Runspace? runspace, BpfCollection collection)
    {
        collection.Dispose();
        if (runspace is not null && s_loaded.TryGetValue(runspace, out var loaded))
        {
            lock (loaded) loaded.Items.Remove(collection);
        }
    }

    /// <summary>Disposes everything the runspace loaded; returns how many were still loaded.</summary>
    public static int DisposeAll(Runspace? runspace)
    {
        if (runspace is null || !s_loaded.TryGetValue(runspace, out var loaded)) return 0;
        BpfCollection[] items;
        lock (loaded)
        {
            items = loaded.Items.ToArray();
            loaded.Items.Clear();
        }
        var live = 0;
        foreach (var collection in items)
        {
            if (!collection.IsDisposed) live++;
            collection.Dispose();
        }
        return live;
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace) return;
        if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
            DisposeAll(runspace);
            s_loaded.Remove(runspace);
        }
    }
}
