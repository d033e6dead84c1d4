using System.Collections;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Loading;

/// <summary>
/// Where the BTF ids the kernel checks come from: attach targets (tp_btf, fentry/fexit, lsm, iter), kfuncs and typed
/// __ksym variables. The kernel looks these ids up in its own BTF, so they are always the running kernel's, whatever
/// <see cref="CollectionOptions.TargetBtf"/> CO-RE relocates against (libbpf does the same with a custom btf path).
/// </summary>
internal sealed class KernelIdTargets
{
    private readonly Lazy<BtfSpec> _vmlinux = new(KernelBtf.GetVmlinux);

    public KernelIdTargets(CollectionOptions options)
    {
        // Without a custom target, ModuleBtfs are the running kernel's modules (split on its vmlinux); with one, they are
        // that target's, and the running kernel's modules are read only if a lookup misses vmlinux.
        Modules = options.TargetBtf is null ? options.ModuleBtfs ?? [] : new RunningModules(_vmlinux);
    }

    /// <summary>The running kernel's vmlinux BTF, parsed (or shared) on first need.</summary>
    public BtfSpec Vmlinux => _vmlinux.Value;

    /// <summary>Module BTFs searched after vmlinux; a ksym's or attach target's module index points into this list.</summary>
    public IReadOnlyList<BtfSpec> Modules { get; }

    /// <summary>The loaded modules' BTF (/sys/kernel/btf/*), read on first use.</summary>
    private sealed class RunningModules(Lazy<BtfSpec> vmlinux) : IReadOnlyList<BtfSpec>
    {
        private readonly Lazy<BtfSpec[]> _specs = new(() => KernelBtf.ModuleNames().Select(name => KernelBtf.LoadModule(name, vmlinux.Value)).ToArray());

        public BtfSpec this[int index] => _specs.Value[index];
        public int Count => _specs.Value.Length;
        public IEnumerator<BtfSpec> GetEnumerator() => ((IEnumerable<BtfSpec>)_specs.Value).GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
