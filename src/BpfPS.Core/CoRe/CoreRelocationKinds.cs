using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>The three families of CO-RE relocation, which parse and match their access strings differently.</summary>
internal static class CoreRelocationKinds
{
    public static bool IsFieldBased(this CoreRelocationKind kind) => kind <= CoreRelocationKind.FieldRShiftU64;

    public static bool IsTypeBased(this CoreRelocationKind kind) =>
        kind is CoreRelocationKind.TypeIdLocal or CoreRelocationKind.TypeIdTarget or CoreRelocationKind.TypeExists
            or CoreRelocationKind.TypeSize or CoreRelocationKind.TypeMatches;

    public static bool IsEnumValueBased(this CoreRelocationKind kind) =>
        kind is CoreRelocationKind.EnumValueExists or CoreRelocationKind.EnumValue;

    /// <summary>libbpf's short names, so messages read like libbpf's log.</summary>
    public static string ShortName(this CoreRelocationKind kind) => kind switch
    {
        CoreRelocationKind.FieldByteOffset => "byte_off",
        CoreRelocationKind.FieldByteSize => "byte_sz",
        CoreRelocationKind.FieldExists => "field_exists",
        CoreRelocationKind.FieldSigned => "signed",
        CoreRelocationKind.FieldLShiftU64 => "lshift_u64",
        CoreRelocationKind.FieldRShiftU64 => "rshift_u64",
        CoreRelocationKind.TypeIdLocal => "local_type_id",
        CoreRelocationKind.TypeIdTarget => "target_type_id",
        CoreRelocationKind.TypeExists => "type_exists",
        CoreRelocationKind.TypeMatches => "type_matches",
        CoreRelocationKind.TypeSize => "type_size",
        CoreRelocationKind.EnumValueExists => "enumval_exists",
        CoreRelocationKind.EnumValue => "enumval_value",
        _ => $"unknown({(uint)kind})",
    };

    public static bool IsKnown(this CoreRelocationKind kind) => kind <= CoreRelocationKind.TypeMatches;
}
