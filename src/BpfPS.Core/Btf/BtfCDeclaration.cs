using System.Text;

namespace BpfPS.Core.Btf;

/// <summary>
/// C text for one BTF type, as Get-BtfType shows it: a struct or union with its members (anonymous ones inline,
/// bitfields, padding and packing where the offsets need them), an enum with its values, "typedef ... name;", a
/// function as its prototype, a variable as a declaration. Names are BTF's own (no renaming of clashes, unlike
/// <see cref="BtfCHeaderWriter"/>), and only the type itself is written, not the types it uses.
/// </summary>
public static class BtfCDeclaration
{
    /// <summary>The C declaration of <paramref name="type"/> (resolved through its own spec).</summary>
    public static string Format(BtfType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return Format(type.Spec, type.Id);
    }

    /// <summary>The C declaration of type <paramref name="id"/> of <paramref name="spec"/>.</summary>
    /// <exception cref="BpfFormatException">The type or one it refers to is malformed.</exception>
    public static string Format(BtfSpec spec, uint id)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var c = new CTypeFormatter(spec);
        var t = spec.GetTypeTransient(id);
        var sb = new StringBuilder();
        switch (t)
        {
            case BtfComposite composite:
                c.AppendComposite(sb, composite, 0);
                sb.Append(';');
                break;
            case BtfEnum e:
                c.AppendEnum(sb, e, 0);
                sb.Append(';');
                break;
            case BtfFwd f:
                sb.Append(f.IsUnion ? "union " : "struct ").Append(f.Name).Append(';');
                break;
            case BtfReference { Kind: BtfKind.Typedef } td:
                sb.Append("typedef ");
                c.AppendDeclaration(sb, td.TypeId, td.Name, 0);
                sb.Append(';');
                break;
            case BtfFunc fn:
                sb.Append(Linkage(fn.Linkage));
                c.AppendDeclaration(sb, fn.ProtoTypeId, fn.Name, 0);
                sb.Append(';');
                break;
            case BtfVar v:
                sb.Append(Linkage(v.Linkage));
                c.AppendDeclaration(sb, v.TypeId, v.Name, 0);
                sb.Append(';');
                break;
            case BtfDatasec d:
                sb.Append("/* section ").Append(d.Name).Append(", ").Append(d.ByteSize).Append(" bytes */");
                foreach (var v in d.Variables)
                {
                    var variable = spec.GetTypeTransient(v.TypeId);
                    sb.Append("\n/* offset ").Append(v.Offset).Append(", size ").Append(v.Size).Append(" */ ");
                    sb.Append(variable is BtfVar or BtfFunc ? Format(spec, v.TypeId) : c.Declaration(v.TypeId, "", 0) + ";");
                }
                break;
            case BtfDeclTag tag:
                sb.Append("__attribute__((btf_decl_tag(\"").Append(tag.Name).Append("\"))) /* on ")
                    .Append(spec.GetTypeTransient(tag.TypeId).ToString())
                    .Append(tag.ComponentIndex < 0 ? "" : $", component {tag.ComponentIndex}").Append(" */");
                break;
            default:
                // int, float, void, pointers, arrays, modifiers, func_proto: the type as written in a declaration.
                c.AppendDeclaration(sb, id, "", 0);
                break;
        }
        return sb.ToString();
    }

    /// <summary>The C declaration of <paramref name="name"/> as type <paramref name="typeId"/>, e.g. "const char *comm".</summary>
    public static string Declare(BtfSpec spec, uint typeId, string name = "")
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(name);
        return new CTypeFormatter(spec).Declaration(typeId, name);
    }

    private static string Linkage(BtfLinkage linkage) => linkage switch
    {
        BtfLinkage.Static => "static ",
        BtfLinkage.Extern => "extern ",
        _ => "",
    };
}
