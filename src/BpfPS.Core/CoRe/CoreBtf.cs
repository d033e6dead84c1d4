using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>Small read-only walks over a spec that CO-RE needs, with the bounds libbpf relies on BTF validation for.</summary>
internal static class CoreBtf
{
    /// <summary>Pointer size of the target architecture (BPF and x86-64 both use 8).</summary>
    public const uint PointerSize = 8;
    /// <summary>Longest typedef/qualifier chain or array nesting followed before calling the graph cyclic.</summary>
    private const int MaxChain = 64;

    /// <summary>libbpf's skip_mods_and_typedefs: follows typedef, volatile, const, restrict and type_tag.</summary>
    public static BtfType SkipModsAndTypedefs(BtfSpec spec, uint id, out uint resolvedId)
    {
        for (int depth = 0; depth < MaxChain; depth++)
        {
            var type = spec.GetType(id);
            if (type is BtfReference reference && reference.Kind != BtfKind.Pointer)
            {
                id = reference.TypeId;
                continue;
            }
            resolvedId = id;
            return type;
        }
        throw new CoreRelocationException($"{spec.Source}: typedef/qualifier chain from type [{id}] is longer than {MaxChain} (cyclic?)");
    }

    public static BtfType SkipModsAndTypedefs(BtfSpec spec, uint id) => SkipModsAndTypedefs(spec, id, out _);

    /// <summary>
    /// libbpf's btf__resolve_size, answered by <see cref="BtfSpec.SizeOf"/> straight from the raw bytes (so sizing a kernel
    /// type decodes nothing); malformed or sizeless types become a relocation error.
    /// </summary>
    public static ulong ResolveSize(BtfSpec spec, uint id)
    {
        try
        {
            return spec.SizeOf(id);
        }
        catch (BpfFormatException e)
        {
            throw new CoreRelocationException($"{spec.Source}: {e.Reason}");
        }
    }

    /// <summary>libbpf's btf_kind_core_compat: same kind, or enum and enum64 in either order.</summary>
    public static bool KindsCompatible(BtfType a, BtfType b) => a.Kind == b.Kind || (a is BtfEnum && b is BtfEnum);

    public static bool KindsCompatible(BtfKind a, BtfKind b) =>
        a == b || (a is BtfKind.Enum or BtfKind.Enum64 && b is BtfKind.Enum or BtfKind.Enum64);

    /// <summary>"struct foo", "union &lt;anon&gt;", "typedef u32"... for messages.</summary>
    public static string Describe(BtfType type) => type.Name.Length == 0 ? $"{KindWord(type)} <anon>" : $"{KindWord(type)} {type.Name}";

    /// <summary>The C-ish word for a type's kind ("struct", "enum", "typedef"...), as a literal so messages can append it for free.</summary>
    public static string KindWord(BtfType type) => type.Kind switch
    {
        BtfKind.Struct => "struct",
        BtfKind.Union => "union",
        BtfKind.Enum or BtfKind.Enum64 => "enum",
        BtfKind.Typedef => "typedef",
        BtfKind.Fwd => "fwd",
        BtfKind.Int => "int",
        BtfKind.Float => "float",
        BtfKind.Pointer => "ptr",
        BtfKind.Array => "array",
        BtfKind.FuncProto => "func_proto",
        BtfKind.Void => "void",
        BtfKind.Volatile => "volatile",
        BtfKind.Const => "const",
        BtfKind.Restrict => "restrict",
        BtfKind.Func => "func",
        BtfKind.Var => "var",
        BtfKind.Datasec => "datasec",
        BtfKind.DeclTag => "decl_tag",
        BtfKind.TypeTag => "type_tag",
        _ => "type",
    };

}
