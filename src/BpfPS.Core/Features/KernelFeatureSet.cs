using System.Collections.Concurrent;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// What the running kernel can do, probed by loading minimal programs, maps and BTF (the way bpftool feature probe
/// and libbpf's probes do), and remembered: each probe runs at most once per instance. One instance is shared
/// process-wide while anyone holds it (<see cref="Shared"/>); dropping every reference forgets the answers, so a
/// changed sysctl or a new mount is seen by the next instance. Sysctls and mounts are read afresh on every query.
/// </summary>
public sealed class KernelFeatureSet
{
    private static readonly WeakShared<KernelFeatureSet> s_shared = new(() => new KernelFeatureSet());

    private readonly ConcurrentDictionary<(FeatureCategory, long, long), Lazy<ProbeResult>> _probes = new();
    private readonly Lazy<UapiNames> _names;
    private readonly Lazy<IReadOnlyList<BpfFeature>> _kfuncs;
    private readonly Func<BtfSpec?> _kernelBtf;

    /// <summary>A new, empty set over the running kernel (its BTF read through <see cref="KernelBtf"/>).</summary>
    public KernelFeatureSet() : this(TryKernelBtf) { }

    /// <summary>A new set whose names, attach targets and kfuncs come from <paramref name="kernelBtf"/> (null: none).</summary>
    public KernelFeatureSet(Func<BtfSpec?> kernelBtf)
    {
        _kernelBtf = kernelBtf;
        _names = new(() => UapiNames.ForKernel(_kernelBtf()));
        _kfuncs = new(() => KfuncList.Read(_kernelBtf()));
    }

    /// <summary>The process's set, created on first use and kept while any caller holds it.</summary>
    public static KernelFeatureSet Shared => s_shared.Get();

    /// <summary>How many times a shared set was created (a new one starts with no answers).</summary>
    public static int SharedCreatedCount => s_shared.CreatedCount;

    /// <summary>How many probes this set has run so far.</summary>
    public int ProbeCount => _probes.Count(p => p.Value.IsValueCreated);

    /// <summary>The uapi names this kernel uses.</summary>
    public UapiNames Names => _names.Value;

    /// <summary>Can a program of <paramref name="type"/> be loaded? Any number: one the kernel does not know answers no.</summary>
    public BpfFeature ProgramType(uint type)
    {
        var r = Run(FeatureCategory.ProgramType, type, 0, () => ProgramProbes.ProbeType(type, _kernelBtf(), Names));
        return new BpfFeature { Category = FeatureCategory.ProgramType, Name = Names.ProgramTypeName(type), Id = type, Supported = r.Supported, Detail = r.Detail };
    }

    /// <summary>Can a map of <paramref name="type"/> be created?</summary>
    public BpfFeature MapType(uint type)
    {
        var r = Run(FeatureCategory.MapType, type, 0, () => MapProbes.Probe(type, _kernelBtf(), Names));
        return new BpfFeature { Category = FeatureCategory.MapType, Name = Names.MapTypeName(type), Id = type, Supported = r.Supported, Detail = r.Detail };
    }

    /// <summary>May a program of <paramref name="programType"/> call helper <paramref name="helperId"/>? No when the type itself does not load.</summary>
    public BpfFeature Helper(uint programType, int helperId)
    {
        var typeName = Names.ProgramTypeName(programType);
        var r = Run(FeatureCategory.Helper, programType, helperId, () =>
        {
            if (!ProgramProbes.HelpersProbeable(programType))
                return ProbeResult.No($"not probed: a {typeName} program loads only with a target (a struct_ops member, a BPF program), which a probe has not got");
            var type = ProgramType(programType);
            return type.Supported
                ? ProgramProbes.ProbeHelper(programType, helperId, _kernelBtf())
                : ProbeResult.No($"program type {typeName} does not load here");
        });
        return new BpfFeature { Category = FeatureCategory.Helper, Name = Names.HelperName(helperId), ProgramType = typeName, Id = helperId, Supported = r.Supported, Detail = r.Detail };
    }

    /// <summary>
    /// Every feature in <paramref name="categories"/> (all when empty) whose name passes <paramref name="nameFilter"/>
    /// and, for helpers and attach types, whose program type passes <paramref name="programTypeFilter"/>. Filters are
    /// applied before probing, so a narrow query runs few probes.
    /// </summary>
    public IEnumerable<BpfFeature> Query(IReadOnlyCollection<FeatureCategory>? categories = null, Func<string, bool>? nameFilter = null,
        Func<string, bool>? programTypeFilter = null)
    {
        bool Want(FeatureCategory c) => categories is null || categories.Count == 0 || categories.Contains(c);
        bool Named(string n) => nameFilter is null || nameFilter(n);
        bool OfType(string n) => programTypeFilter is null || programTypeFilter(n);

        if (Want(FeatureCategory.ProgramType))
            foreach (var (type, name) in Sorted(Names.ProgramTypes))
                if (Named(name)) yield return ProgramType((uint)type);

        if (Want(FeatureCategory.MapType))
            foreach (var (type, name) in Sorted(Names.MapTypes))
                if (Named(name)) yield return MapType((uint)type);

        if (Want(FeatureCategory.AttachType))
            foreach (var (programType, attachType) in AttachTypeProbes.Pairs(Names))
            {
                var programName = Names.ProgramTypeName(programType);
                var name = Names.AttachTypeName(attachType);
                if (!Named(name) || !OfType(programName)) continue;
                var r = Run(FeatureCategory.AttachType, programType, attachType, () => ProgramProbes.ProbeAttachType(programType, attachType, _kernelBtf(), Names));
                yield return new BpfFeature { Category = FeatureCategory.AttachType, Name = name, ProgramType = programName, Id = attachType, Supported = r.Supported, Detail = r.Detail };
            }

        if (Want(FeatureCategory.LinkType))
            for (int i = 0; i < LinkProbes.Probes.Length; i++)
            {
                var (name, _, _, _, _) = LinkProbes.Probes[i];
                if (!Named(name)) continue;
                int index = i;
                var r = Run(FeatureCategory.LinkType, i, 0, () => LinkProbes.Probe(index, _kernelBtf(), Names));
                long? id = Names.LinkTypes.FirstOrDefault(p => p.Value == name).Key is long k && k != 0 ? k : null;
                yield return new BpfFeature { Category = FeatureCategory.LinkType, Name = name, Id = id, Supported = r.Supported, Detail = r.Detail };
            }

        if (Want(FeatureCategory.Helper))
            foreach (var (type, typeName) in Sorted(Names.ProgramTypes))
            {
                if (!OfType(typeName)) continue;
                var helpers = Sorted(Names.Helpers).Where(h => Named(h.Value)).ToList();
                if (helpers.Count == 0 || !ProgramProbes.HelpersProbeable((uint)type) || !ProgramType((uint)type).Supported) continue;
                foreach (var (id, _) in helpers) yield return Helper((uint)type, (int)id);
            }

        if (Want(FeatureCategory.Kfunc))
            foreach (var kfunc in _kfuncs.Value)
                if (Named(kfunc.Name)) yield return kfunc;

        if (Want(FeatureCategory.BtfKind))
        {
            int index = 0;
            foreach (var (kind, name, shape, blob) in TinyBtf.KindProbes())
            {
                int i = index++;
                if (!Named(name)) continue;
                var r = Run(FeatureCategory.BtfKind, i, 0, () => TinyBtf.Probe(shape, blob));
                yield return new BpfFeature { Category = FeatureCategory.BtfKind, Name = name, Id = kind, Supported = r.Supported, Detail = r.Detail };
            }
        }

        if (Want(FeatureCategory.Misc))
            for (int i = 0; i < MiscProbes.Probes.Length; i++)
            {
                var name = MiscProbes.Probes[i].Name;
                if (!Named(name)) continue;
                var r = Run(FeatureCategory.Misc, i, 0, () => MiscProbes.Probe(name));
                yield return new BpfFeature { Category = FeatureCategory.Misc, Name = name, Supported = r.Supported, Detail = r.Detail };
            }

        if (Want(FeatureCategory.SystemConfig))
            for (int i = 0; i < SystemSettings.Settings.Length; i++)
            {
                var name = SystemSettings.Settings[i].Name;
                if (!Named(name)) continue;
                var (on, value, detail) = SystemSettings.Read(i);
                yield return new BpfFeature { Category = FeatureCategory.SystemConfig, Name = name, Supported = on, Value = value, Detail = detail };
            }

        if (Want(FeatureCategory.Mount))
            for (int i = 0; i < MountProbes.Mounts.Length; i++)
            {
                var name = MountProbes.Mounts[i].Name;
                if (!Named(name)) continue;
                var (mounted, points, detail) = MountProbes.Find(i);
                yield return new BpfFeature { Category = FeatureCategory.Mount, Name = name, Supported = mounted, Value = points, Detail = detail };
            }
    }

    private ProbeResult Run(FeatureCategory category, long a, long b, Func<ProbeResult> probe)
    {
        var key = (category, a, b);
        var lazy = _probes.GetOrAdd(key, _ => new Lazy<ProbeResult>(() => Isolated(probe)));
        var result = lazy.Value;
        // Out of memory or descriptors says nothing about the feature: ask again next time.
        if (result.Transient) _probes.TryRemove(new KeyValuePair<(FeatureCategory, long, long), Lazy<ProbeResult>>(key, lazy));
        return result;
    }

    /// <summary>
    /// Runs a probe outside the caller's async flow, so the answer is the kernel's: fault injection and other
    /// flow-scoped test seams around a load must not make a probe fail, and a probe's syscalls must not count as the load's.
    /// </summary>
    private static ProbeResult Isolated(Func<ProbeResult> probe)
    {
        ProbeResult result = default;
        ExecutionContext.Run(s_cleanContext.Value, _ => result = probe(), null);
        return result;
    }

    /// <summary>The execution context of a fresh thread: no async-local values at all.</summary>
    private static readonly Lazy<ExecutionContext> s_cleanContext = new(() =>
    {
        ExecutionContext? clean = null;
        var thread = new Thread(() => clean = ExecutionContext.Capture()) { IsBackground = true };
        if (ExecutionContext.IsFlowSuppressed())
            thread.Start();
        else
            using (ExecutionContext.SuppressFlow())
                thread.Start();
        thread.Join();
        return clean!;
    });

    private static IEnumerable<KeyValuePair<long, string>> Sorted(IReadOnlyDictionary<long, string> names) => names.OrderBy(p => p.Key);

    private static BtfSpec? TryKernelBtf()
    {
        try { return KernelBtf.GetVmlinux(); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or BpfFormatException) { return null; }
    }
}
