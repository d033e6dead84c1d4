using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// What in an object cannot work without the object's BTF in the kernel. libbpf 1.1 treats the BTF as optional when
/// the kernel refuses it, unless the object has struct_ops; BpfPS also counts what the kernel is known to refuse without
/// it (map values with special fields, callbacks), so such objects fail at once with the BTF's reason rather than later
/// with a map or verifier error.
/// </summary>
internal static class ObjectBtfRequirements
{
    /// <summary>Struct names the kernel only accepts inside a map value described by BTF.</summary>
    private static readonly HashSet<string> SpecialStructs = new(StringComparer.Ordinal)
    {
        "bpf_spin_lock", "bpf_timer", "bpf_wq", "bpf_list_head", "bpf_list_node", "bpf_rb_root", "bpf_rb_node", "bpf_refcount",
    };

    /// <summary>Type tags that make a pointer in a map value a kptr.</summary>
    private static readonly HashSet<string> KptrTags = new(StringComparer.Ordinal) { "kptr", "kptr_untrusted", "kptr_ref", "percpu_kptr" };

    /// <summary>The first thing that needs the object's BTF, described for an error message, or null when nothing does.</summary>
    public static string? Find(CollectionSpec spec, IEnumerable<ProgramSpec> programs)
    {
        foreach (var (name, map) in spec.Maps)
        {
            if (map.SectionName.StartsWith(".struct_ops", StringComparison.Ordinal))
                return $"struct_ops map '{name}' (the kernel finds its type through BTF)";
            if (spec.Btf is { } btf && map.ValueTypeId != 0 && SpecialField(btf, map.ValueTypeId, 0) is string field)
                return $"map '{name}' (its value holds {field}, which the kernel accepts only with BTF)";
        }
        foreach (var program in programs)
        {
            if (program.Type == BpfProgramType.StructOps)
                return $"struct_ops program '{program.Name}'";
            var code = program.Instructions;
            for (int i = 0; i < code.Length; i++)
                if (code[i].IsLoadImm64 && code[i].Src == BpfPseudo.Func)
                    return $"program '{program.Name}' (it passes a callback, which the verifier checks through BTF func info)";
        }
        return null;
    }

    private static string? SpecialField(BtfSpec btf, uint typeId, int depth)
    {
        if (depth > 32 || typeId == 0) return null; // deeper nesting than any real value; cycles only go through pointers
        switch (btf.GetType(typeId))
        {
            case BtfComposite composite:
                if (SpecialStructs.Contains(composite.Name)) return $"struct {composite.Name}";
                foreach (var member in composite.Members)
                    if (SpecialField(btf, member.TypeId, depth + 1) is string found) return found;
                return null;
            case BtfArray array:
                return SpecialField(btf, array.ElementTypeId, depth + 1);
            case BtfReference { Kind: BtfKind.Pointer } pointer:
                // A kptr: pointer -> type_tag("kptr") -> struct. Other pointers end the walk (their targets are not in the value).
                return btf.GetType(pointer.TypeId) is BtfReference { Kind: BtfKind.TypeTag } tag && KptrTags.Contains(tag.Name) ? $"a {tag.Name} pointer" : null;
            case BtfReference reference:
                return SpecialField(btf, reference.TypeId, depth + 1);
            default:
                return null;
        }
    }
}
