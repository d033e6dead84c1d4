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
    /// libbpf's btf__resolve_size: sized kinds give their size, pointers 8, modifiers/typedefs/vars/decl tags are followed,
    /// arrays multiply. Void, fwd, func and func_proto have no size (an error, as in libbpf).
    /// </summary>
    public static ulong ResolveSize(BtfSpec spec, uint id)
    {
        ulong elements = 1;
        uint start = id;
        for (int depth = 0; depth < MaxChain; depth++)
        {
            var type = spec.GetType(id);
            switch (type)
            {
                case BtfInt or BtfComposite or BtfEnum or BtfDatasec or BtfFloat:
                    return Multiply(elements, type.Size!.Value, spec, start);
                case BtfReference { Kind: BtfKind.Pointer }:
                    return Multiply(elements, PointerSize, spec, start);
                case BtfReference reference:
                    id = reference.TypeId;
                    break;
                case BtfVar variable:
                    id = variable.TypeId;
                    break;
                case BtfDeclTag tag:
                    id = tag.TypeId;
                    break;
                case BtfArray array:
                    elements = Multiply(elements, array.Count, spec, start);
                    id = array.ElementTypeId;
                    break;
                default:
                    throw new CoreRelocationException($"{spec.Source}: type [{start}] has no size ({type.Kind} [{type.Id}] reached)");
            }
        }
        throw new CoreRelocationException($"{spec.Source}: size of type [{start}] needs more than {MaxChain} steps (cyclic?)");
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

    private static ulong Multiply(ulong a, ulong b, BtfSpec spec, uint id) =>
        b == 0 || a <= uint.MaxValue / b ? a * b : throw new CoreRelocationException($"{spec.Source}: size of type [{id}] exceeds 4 GiB");
}
