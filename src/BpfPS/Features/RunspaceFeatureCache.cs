using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using BpfPS.Core.Features;

namespace BpfPS.Features;

/// <summary>
/// The probed kernel features each runspace works with. The core shares one <see cref="KernelFeatureSet"/> process-wide
/// through a weak reference; a runspace that has asked keeps it alive here, so probes run once however often
/// Get-BpfFeature is called (and loads in any runspace reuse the answers). The reference goes when the runspace closes.
/// </summary>
internal static class RunspaceFeatureCache
{
    private sealed class Holder
    {
        public KernelFeatureSet? Set;
    }

    private static readonly ConditionalWeakTable<Runspace, Holder> s_holders = new();

    public static KernelFeatureSet Get(Runspace? runspace)
    {
        if (runspace is null) return KernelFeatureSet.Shared;
        var holder = s_holders.GetValue(runspace, static rs =>
        {
            rs.StateChanged += OnRunspaceStateChanged;
            return new Holder();
        });
        lock (holder) return holder.Set ??= KernelFeatureSet.Shared;
    }

    /// <summary>Drops this runspace's reference; the answers are forgotten once no other runspace holds them.</summary>
    public static bool Release(Runspace? runspace)
    {
        if (runspace is null || !s_holders.TryGetValue(runspace, out var holder)) return false;
        lock (holder)
        {
            var held = holder.Set is not null;
            holder.Set = null;
            return held;
        }
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace) return;
        if (e.RunspaceStateInfo.State is RunspaceState.Closed or RunspaceState.Broken)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
            Release(runspace);
            s_holders.Remove(runspace);
        }
    }
}
