using System.Management.Automation.Runspaces;
using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>
/// The kernel BTF each runspace works with. KernelBtf shares one parsed vmlinux spec process-wide through a weak
/// reference; a runspace that has used it keeps it alive with a strong reference held here, so every Get-BtfType,
/// completion and load in that runspace (and in any other runspace at the same time) reuses the same instance.
/// The reference is dropped when the runspace closes, on Clear-BtfCache, and on Remove-Module.
/// </summary>
internal static class RunspaceBtfCache
{
    private sealed class Holder
    {
        public BtfSpec? Kernel;
        public readonly Dictionary<string, BtfSpec> Modules = new(StringComparer.Ordinal);
    }

    private static readonly ConditionalWeakTable<Runspace, Holder> s_holders = new();

    // The last kernel spec handed out, weakly: lets Get-BtfCache say whether one is alive without loading it.
    private static readonly WeakReference<BtfSpec?> s_lastKernel = new(null);

    /// <summary>The kernel's vmlinux BTF, parsed at most once while any runspace holds it.</summary>
    public static BtfSpec GetKernel(Runspace? runspace)
    {
        if (runspace is null) return Remember(KernelBtf.GetVmlinux());
        var holder = GetHolder(runspace);
        lock (holder)
        {
            return holder.Kernel ??= Remember(KernelBtf.GetVmlinux());
        }
    }

    /// <summary>The kernel spec alive in this process (held by any runspace), or null; never loads.</summary>
    public static BtfSpec? PeekAlive() => s_lastKernel.TryGetTarget(out var spec) ? spec : null;

    /// <summary>A kernel module's split BTF (from /sys/kernel/btf/&lt;name&gt;), kept for the runspace's lifetime.</summary>
    public static BtfSpec GetModule(Runspace? runspace, string moduleName)
    {
        if (runspace is null) return KernelBtf.LoadModule(moduleName, GetKernel(null));
        var holder = GetHolder(runspace);
        lock (holder)
        {
            if (holder.Modules.TryGetValue(moduleName, out var spec)) return spec;
            holder.Kernel ??= Remember(KernelBtf.GetVmlinux());
            spec = KernelBtf.LoadModule(moduleName, holder.Kernel);
            holder.Modules[moduleName] = spec;
            return spec;
        }
    }

    /// <summary>The spec this runspace holds, without loading one.</summary>
    public static BtfSpec? PeekKernel(Runspace? runspace)
    {
        if (runspace is null || !s_holders.TryGetValue(runspace, out var holder)) return null;
        lock (holder) return holder.Kernel;
    }

    /// <summary>Names of the module specs this runspace holds.</summary>
    public static IReadOnlyList<string> HeldModules(Runspace? runspace)
    {
        if (runspace is null || !s_holders.TryGetValue(runspace, out var holder)) return [];
        lock (holder) return holder.Modules.Keys.Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Drops this runspace's references; the spec is freed once no other runspace holds it.</summary>
    public static bool Release(Runspace? runspace)
    {
        if (runspace is null || !s_holders.TryGetValue(runspace, out var holder)) return false;
        lock (holder)
        {
            var held = holder.Kernel is not null || holder.Modules.Count > 0;
            holder.Kernel = null;
            holder.Modules.Clear();
            return held;
        }
    }

    private static BtfSpec Remember(BtfSpec spec)
    {
        s_lastKernel.SetTarget(spec);
        return spec;
    }

    private static Holder GetHolder(Runspace runspace) =>
        s_holders.GetValue(runspace, static rs =>
        {
            rs.StateChanged += OnRunspaceStateChanged;
            return new Holder();
        });

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
