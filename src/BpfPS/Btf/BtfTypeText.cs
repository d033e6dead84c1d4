using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>C text for BTF types, from the core's declaration writer (one place to call it from).</summary>
internal static class BtfTypeText
{
    /// <summary>A type used as a member or variable type, written as C: "struct list_head *", "unsigned int".</summary>
    public static string TypeName(BtfSpec spec, uint typeId) => BtfCDeclaration.Declare(spec, typeId).Trim();

    /// <summary>The full C declaration of a type.</summary>
    public static string Declaration(BtfType type) => BtfCDeclaration.Format(type);

    /// <summary>Every type of <paramref name="spec"/> as a C header, in dependency order.</summary>
    public static void WriteHeader(BtfSpec spec, TextWriter writer) => BtfCHeaderWriter.Write(spec, writer);
}
