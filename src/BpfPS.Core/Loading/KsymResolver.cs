using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;

namespace BpfPS.Core.Loading;

/// <summary>How a __ksym extern was resolved.</summary>
public enum KsymKind
{
    /// <summary>A variable with a BTF type: ld_imm64 becomes BPF_PSEUDO_BTF_ID of the kernel VAR.</summary>
    TypedVariable,
    /// <summary>A variable declared with type void: ld_imm64 of its /proc/kallsyms address.</summary>
    TypelessVariable,
    /// <summary>A kernel function (kfunc): call becomes BPF_PSEUDO_KFUNC_CALL of the kernel FUNC.</summary>
    Function,
}

/// <summary>
/// A __ksym extern resolved against kernel BTF (or kallsyms). <see cref="ModuleIndex"/> is -1 for vmlinux, else the index
/// of the module spec among the targets' modules. Unresolved weak externs have <see cref="IsResolved"/> false and zeroes.
/// </summary>
public readonly record struct ResolvedKsym(string Name, KsymKind Kind, bool IsResolved, uint KernelBtfId, int ModuleIndex, ulong Address);

/// <summary>Resolves __ksym externs like libbpf 1.1 (bpf_object__resolve_ksyms_btf_id, kallsyms for typeless ones).</summary>
internal static class KsymResolver
{
    /// <summary>
    /// Resolves every ksym extern of <paramref name="spec"/>: <paramref name="kernel"/> (vmlinux) is asked for only when a
    /// typed ksym exists, <paramref name="modules"/> are searched after it, <paramref name="kallsyms"/> gives addresses
    /// for typeless ones.
    /// </summary>
    public static KsymTable Resolve(CollectionSpec spec, Func<BtfSpec> kernel, IReadOnlyList<BtfSpec> modules,
        Func<IReadOnlySet<string>, IReadOnlyDictionary<string, ulong>> kallsyms)
    {
        KsymTable? result = null; // none allocated for an object without ksyms
        List<ExternSpec>? typeless = null;
        foreach (var ext in spec.Externs)
        {
            if (ext.Kind != ExternKind.Ksym) continue;
            var (kind, localTypeId) = Classify(spec, ext);
            if (kind == KsymKind.TypelessVariable) { (typeless ??= new List<ExternSpec>()).Add(ext); continue; }
            (result ??= new KsymTable()).Set(ResolveTyped(spec, ext, kind, localTypeId, kernel(), modules));
        }

        if (typeless is not null)
        {
            var addresses = kallsyms(typeless.Select(e => e.Name).ToHashSet(StringComparer.Ordinal));
            foreach (var ext in typeless)
            {
                bool found = addresses.TryGetValue(ext.Name, out ulong address);
                if (!found && !ext.IsWeak) throw Error(spec, ext, "not found in /proc/kallsyms");
                (result ??= new KsymTable()).Set(new ResolvedKsym(ext.Name, KsymKind.TypelessVariable, found, 0, -1, found ? address : 0));
            }
        }
        return result ?? KsymTable.Empty;
    }

    /// <summary>Whether the extern is a function or a (typed/typeless) variable, and its local type (var type, or func proto).</summary>
    internal static (KsymKind Kind, uint LocalTypeId) Classify(CollectionSpec spec, ExternSpec ext)
    {
        var btf = spec.Btf;
        if (btf is null || ext.TypeId == 0) return (KsymKind.TypelessVariable, 0);
        switch (btf.GetType(ext.TypeId))
        {
            case BtfFunc f: return (KsymKind.Function, f.ProtoTypeId);
            case BtfFuncProto: return (KsymKind.Function, ext.TypeId);
            case BtfVar v:
                uint target = btf.SkipModsAndTypedefs(v.TypeId);
                return target == 0 ? (KsymKind.TypelessVariable, 0) : (KsymKind.TypedVariable, target);
            default:
                uint skipped = btf.SkipModsAndTypedefs(ext.TypeId);
                return skipped == 0 ? (KsymKind.TypelessVariable, 0) : (KsymKind.TypedVariable, skipped);
        }
    }

    private static ResolvedKsym ResolveTyped(CollectionSpec spec, ExternSpec ext, KsymKind kind, uint localTypeId, BtfSpec kernel, IReadOnlyList<BtfSpec> modules)
    {
        var wantedKind = kind == KsymKind.Function ? BtfKind.Func : BtfKind.Var;
        var (target, id, moduleIndex) = Find(ext.Name, wantedKind, kernel, modules);
        if (target is null)
        {
            if (ext.IsWeak) return new ResolvedKsym(ext.Name, kind, false, 0, -1, 0);
            throw Error(spec, ext, kind == KsymKind.Function ? "not found in kernel or module BTFs" : "not found in kernel BTF");
        }

        // libbpf checks the declared type against the kernel's (bpf_core_types_are_compat) before trusting the id.
        uint targetTypeId = kind == KsymKind.Function
            ? ((BtfFunc)target.GetType(id)).ProtoTypeId
            : target.SkipModsAndTypedefs(((BtfVar)target.GetType(id)).TypeId);
        if (!CoreTypeCompatibility.TypesAreCompatible(spec.Btf!, localTypeId, target, targetTypeId))
            throw Error(spec, ext, $"declared type [{localTypeId}] is incompatible with the kernel's [{targetTypeId}] {target.GetName(targetTypeId)}");
        return new ResolvedKsym(ext.Name, kind, true, id, moduleIndex, 0);
    }

    /// <summary>First type named <paramref name="name"/> of <paramref name="kind"/>: vmlinux, then each module's own types.</summary>
    internal static (BtfSpec? Spec, uint Id, int ModuleIndex) Find(string name, BtfKind kind, BtfSpec kernel, IReadOnlyList<BtfSpec> modules)
    {
        if (FirstOfKind(kernel, name, kind, ownOnly: false) is uint id) return (kernel, id, -1);
        for (int i = 0; i < modules.Count; i++)
            if (FirstOfKind(modules[i], name, kind, ownOnly: true) is uint mid) return (modules[i], mid, i);
        return (null, 0, -1);
    }

    private static uint? FirstOfKind(BtfSpec spec, string name, BtfKind kind, bool ownOnly)
    {
        uint? best = null;
        foreach (var id in spec.FindByName(name))
        {
            if (ownOnly && id < spec.FirstTypeId) continue;
            if (spec.GetKind(id) == kind && (best is null || id < best)) best = id;
        }
        return best;
    }

    /// <summary>Reads /proc/kallsyms for the wanted names (first address wins; a differing second one is ambiguous, as in libbpf).</summary>
    public static IReadOnlyDictionary<string, ulong> ReadKallsyms(IReadOnlySet<string> wanted, string path = "/proc/kallsyms")
    {
        var found = new Dictionary<string, ulong>(StringComparer.Ordinal);
        using var reader = new StreamReader(path);
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            // "ffffffff814de1b0 T __x64_sys_bpf\t[module]"
            int a = line.IndexOf(' ');
            if (a <= 0 || a + 3 > line.Length) continue;
            int nameStart = a + 3;
            int nameEnd = line.IndexOfAny([' ', '\t'], nameStart);
            var name = nameEnd < 0 ? line[nameStart..] : line[nameStart..nameEnd];
            if (!wanted.Contains(name)) continue;
            if (!ulong.TryParse(line.AsSpan(0, a), System.Globalization.NumberStyles.AllowHexSpecifier, null, out ulong address)) continue;
            if (found.TryGetValue(name, out ulong previous) && previous != address)
                throw new InvalidOperationException($"ksym '{name}' is ambiguous in {path}: 0x{previous:x} or 0x{address:x}");
            found[name] = address;
        }
        return found;
    }

    private static BpfLoadException Error(CollectionSpec spec, ExternSpec ext, string message) =>
        new(spec.Path, $"extern (ksym) '{ext.Name}'", message);
}
