using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// The links each runspace made. A link belongs to the runspace that made it and to the collection whose program it
/// attached: closing the runspace, Remove-BpfLink or Remove-BpfCollection detaches it. A pinned kernel link stays
/// attached in the kernel all the same (the pin holds it).
/// </summary>
internal static class RunspaceLinks
{
    private sealed class Made
    {
        public readonly List<BpfLink> Items = [];
    }

    private static readonly ConditionalWeakTable<Runspace, Made> s_made = new();

    /// <summary>Records <paramref name="link"/> as this runspace's and as the collection's that loaded <paramref name="program"/>.</summary>
    public static void Add(Runspace? runspace, BpfLink link, LoadedProgram? program)
    {
        if (program is not null)
            RunspaceCollections.List(runspace).FirstOrDefault(c => c.Programs.Values.Contains(program))?.Own(link);
        if (runspace is null) return; // not in a runspace: the caller owns it
        var made = s_made.GetValue(runspace, static rs =>
        {
            rs.StateChanged += OnRunspaceStateChanged;
            return new Made();
        });
        lock (made) made.Items.Add(link);
    }

    /// <summary>This runspace's links still attached, oldest first.</summary>
    public static IReadOnlyList<BpfLink> List(Runspace? runspace)
    {
        if (runspace is null || !s_made.TryGetValue(runspace, out var made)) return [];
        lock (made) return made.Items.Where(l => !l.IsDisposed).ToArray();
    }

    /// <summary>Detaches one link and forgets it.</summary>
    public static void Remove(Runspace? runspace, BpfLink link)
    {
        link.Dispose();
        if (runspace is not null && s_made.TryGetValue(runspace, out var made))
        {
            lock (made) made.Items.Remove(link);
        }
    }

    /// <summary>Detaches every link the runspace made; returns how many were still attached.</summary>
    public static int DisposeAll(Runspace? runspace)
    {
        if (runspace is null || !s_made.TryGetValue(runspace, out var made)) return 0;
        BpfLink[] items;
        lock (made)
        {
            items = made.Items.ToArray();
            made.Items.Clear();
        }
        var live = 0;
        // Newest first, the reverse of attaching.
        foreach (var link in items.Reverse())
        {
            if (!link.IsDisposed) live++;
            link.Dispose();
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
            s_made.Remove(runspace);
        }
    }
}
