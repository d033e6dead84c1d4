using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;

namespace BpfPS;

/// <summary>
/// Kernel objects (collections, links) that belong to the runspace that made them. They must not outlive the session by
/// accident: when the runspace closes or breaks, everything it still owns is disposed.
/// </summary>
internal sealed class RunspaceOwned<T> where T : class, IDisposable
{
    private readonly ConditionalWeakTable<Runspace, List<T>> _owned = new();
    private readonly Func<T, bool> _isDisposed;
    private readonly bool _disposeNewestFirst;

    /// <param name="isDisposed">Whether an item is already gone (it is then left out of listings).</param>
    /// <param name="disposeNewestFirst">Undo in the reverse order of making (links: the reverse of attaching).</param>
    public RunspaceOwned(Func<T, bool> isDisposed, bool disposeNewestFirst)
    {
        _isDisposed = isDisposed;
        _disposeNewestFirst = disposeNewestFirst;
    }

    public void Add(Runspace? runspace, T item)
    {
        if (runspace is null) return; // not in a runspace: the caller owns it
        var owned = _owned.GetValue(runspace, rs =>
        {
            rs.StateChanged += OnRunspaceStateChanged;
            return [];
        });
        lock (owned) owned.Add(item);
    }

    /// <summary>The runspace's live items, oldest first.</summary>
    public IReadOnlyList<T> List(Runspace? runspace)
    {
        if (runspace is null || !_owned.TryGetValue(runspace, out var owned)) return [];
        lock (owned) return owned.Where(item => !_isDisposed(item)).ToArray();
    }

    /// <summary>Disposes one item and forgets it.</summary>
    public void Remove(Runspace? runspace, T item)
    {
        item.Dispose();
        if (runspace is not null && _owned.TryGetValue(runspace, out var owned))
        {
            lock (owned) owned.Remove(item);
        }
    }

    /// <summary>Disposes everything the runspace owns; returns how many items were still live.</summary>
    public int DisposeAll(Runspace? runspace)
    {
        if (runspace is null || !_owned.TryGetValue(runspace, out var owned)) return 0;
        T[] items;
        lock (owned)
        {
            items = owned.ToArray();
            owned.Clear();
        }
        if (_disposeNewestFirst) Array.Reverse(items);
        var live = 0;
        foreach (var item in items)
        {
            if (!_isDisposed(item)) live++;
            item.Dispose();
        }
        return live;
    }

    private void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace) return;
        if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
            DisposeAll(runspace);
            _owned.Remove(runspace);
        }
    }
}
