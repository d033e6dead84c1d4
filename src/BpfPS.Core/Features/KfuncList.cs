using BpfPS.Core.Btf;

namespace BpfPS.Core.Features;

/// <summary>
/// Kernel functions BPF programs may call (kfuncs), as kernel BTF marks them: since 6.x the kernel's build tags each
/// kfunc's BTF func with the decl tag "bpf_kfunc" (and "bpf_fastcall" for those the verifier may call cheaply). Which
/// program types may call which kfunc is kept in the kernel's .BTF_ids sets, not in BTF, so that is not reported.
/// </summary>
internal static class KfuncList
{
    private const string KfuncTag = "bpf_kfunc", FastcallTag = "bpf_fastcall";

    internal static IReadOnlyList<BpfFeature> Read(BtfSpec? kernel)
    {
        if (kernel is null)
            return [new BpfFeature { Category = FeatureCategory.Kfunc, Name = "kfuncs", Supported = false, Detail = "the kernel publishes no BTF (/sys/kernel/btf/vmlinux)" }];
        var tags = new Dictionary<uint, List<string>>();
        for (uint id = kernel.FirstTypeId; id < kernel.NextTypeId; id++)
        {
            if (kernel.GetKind(id) != BtfKind.DeclTag) continue;
            if (kernel.GetType(id) is not BtfDeclTag { ComponentIndex: -1 } tag || tag.Name is not (KfuncTag or FastcallTag)) continue;
            if (kernel.GetKind(tag.TypeId) != BtfKind.Func) continue;
            if (!tags.TryGetValue(tag.TypeId, out var list)) tags[tag.TypeId] = list = [];
            list.Add(tag.Name);
        }
        var kfuncs = tags.Where(t => t.Value.Contains(KfuncTag))
            .Select(t => new BpfFeature
            {
                Category = FeatureCategory.Kfunc,
                Name = kernel.GetName(t.Key),
                Id = t.Key,
                Supported = true,
                Detail = $"BTF func #{t.Key} tagged {string.Join(", ", t.Value.Distinct())} in kernel BTF",
            })
            .OrderBy(k => k.Name, StringComparer.Ordinal)
            .ToList();
        if (kfuncs.Count == 0)
            return [new BpfFeature { Category = FeatureCategory.Kfunc, Name = "kfuncs", Supported = false,
                Detail = "kernel BTF has no \"bpf_kfunc\" decl tags (a kernel or pahole too old to emit them); kfuncs may exist but cannot be listed from BTF" }];
        return kfuncs;
    }
}
