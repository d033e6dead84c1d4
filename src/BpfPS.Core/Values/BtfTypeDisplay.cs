using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

/// <summary>C-like spellings of BTF types for messages ("char[16]", "struct event", "u32 *").</summary>
internal static class BtfTypeDisplay
{
    private const int MaxDepth = 16;

    public static string Describe(BtfSpec spec, uint typeId)
    {
        try
        {
            return Describe(spec, typeId, 0);
        }
        catch (BpfFormatException)
        {
            return $"<type {typeId}>";   // a message helper must not fail over the very BTF it reports on
        }
    }

    private static string Describe(BtfSpec spec, uint typeId, int depth)
    {
        var dimensions = new StringBuilder();
        uint current = typeId;
        for (; depth < MaxDepth; depth++)
        {
            if (!spec.TryGetType(current, out var type) || type is null)
                return $"<type {current}>" + dimensions;
            switch (type)
            {
                case BtfArray array:
                    dimensions.Append('[').Append(array.Count).Append(']');
                    current = array.ElementTypeId;
                    continue;
                case BtfReference { Kind: BtfKind.Pointer } pointer:
                    return Describe(spec, pointer.TypeId, depth + 1) + " *" + dimensions;
                case BtfReference { Kind: BtfKind.Const } qualified:
                    return "const " + Describe(spec, qualified.TypeId, depth + 1) + dimensions;
                case BtfReference { Kind: BtfKind.Volatile } qualified:
                    return "volatile " + Describe(spec, qualified.TypeId, depth + 1) + dimensions;
                case BtfReference { Name.Length: 0 } unnamed:
                    current = unnamed.TypeId;
                    continue;
                default:
                    return Named(type) + dimensions;
            }
        }
        return "<type nesting too deep>";
    }

    private static string Named(BtfType type) => type switch
    {
        BtfVoid => "void",
        BtfComposite c => (c.IsUnion ? "union " : "struct ") + (c.Name.Length == 0 ? "(anonymous)" : c.Name),
        BtfEnum e => "enum " + (e.Name.Length == 0 ? "(anonymous)" : e.Name),
        BtfFwd f => (f.IsUnion ? "union " : "struct ") + f.Name,
        BtfDatasec d => "section " + d.Name,
        BtfFuncProto => "function",
        _ => type.Name.Length == 0 ? type.Kind.ToString().ToLowerInvariant() : type.Name,
    };
}
