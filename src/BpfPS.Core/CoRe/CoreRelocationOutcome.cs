using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// What a relocation decided (libbpf's bpf_core_relo_res): the value the compiler put in the instruction for the local
/// BTF, the value for the target, whether to check the former, and for loads/stores the field sizes on both sides.
/// </summary>
internal struct CoreRelocationOutcome
{
    public ulong OriginalValue;
    public ulong NewValue;
    public bool Poison;
    /// <summary>Whether the instruction must currently hold <see cref="OriginalValue"/> (off for bitfields and type ids).</summary>
    public bool Validate;
    /// <summary>The field changed size in a way a load/store cannot follow (not a pointer, not an unsigned int).</summary>
    public bool FailMemorySizeAdjust;
    public uint OriginalSize;
    public uint NewSize;

    /// <summary>
    /// Computes the outcome for one local spec and one matched target spec, or for no target at all
    /// (libbpf's bpf_core_calc_relo). Existence kinds answer 0 without a target; value kinds poison.
    /// </summary>
    public static CoreRelocationOutcome Calculate(CoreAccessSpec local, CoreAccessSpec? target)
    {
        var outcome = new CoreRelocationOutcome { Validate = true };
        var kind = local.Kind;
        if (kind.IsFieldBased())
        {
            FieldValue(kind, local, out outcome.OriginalValue, out outcome.OriginalSize, out uint originalTypeId, out outcome.Validate);
            if (!FieldValue(kind, target, out outcome.NewValue, out outcome.NewSize, out uint newTypeId, out _))
            {
                outcome.Poison = true;
                return outcome;
            }
            if (outcome.OriginalSize != outcome.NewSize)
            {
                // Resizing a load is safe for pointers (a 32-bit kernel pointer zero-extends) and unsigned ints; not otherwise.
                var originalType = local.Btf.GetType(originalTypeId);
                var newType = target!.Btf.GetType(newTypeId);
                bool pointers = originalType is BtfReference { Kind: BtfKind.Pointer } && newType is BtfReference { Kind: BtfKind.Pointer };
                bool unsignedInts = originalType is BtfInt originalInt && newType is BtfInt newInt
                    && originalInt.Encoding != BtfIntEncoding.Signed && newInt.Encoding != BtfIntEncoding.Signed;
                outcome.FailMemorySizeAdjust = !pointers && !unsignedInts;
            }
        }
        else if (kind.IsTypeBased())
        {
            outcome.OriginalValue = TypeValue(kind, local);
            outcome.NewValue = TypeValue(kind, target);
            // A type id may legitimately change while linking, so the compiler's value proves nothing.
            outcome.Validate = kind != CoreRelocationKind.TypeIdTarget;
        }
        else
        {
            EnumValue(kind, local, out outcome.OriginalValue);
            outcome.Poison = !EnumValue(kind, target, out outcome.NewValue);
        }
        return outcome;
    }

    /// <summary>libbpf's bpf_core_calc_field_relo. Returns false when there is no target spec and the kind needs one.</summary>
    private static bool FieldValue(CoreRelocationKind kind, CoreAccessSpec? spec, out ulong value, out uint fieldSize, out uint fieldTypeId, out bool validate)
    {
        value = 0;
        fieldSize = 0;
        fieldTypeId = 0;
        validate = true;
        if (kind == CoreRelocationKind.FieldExists)
        {
            value = spec is null ? 0u : 1u;
            return true;
        }
        if (spec is null)
            return false;

        ref readonly var accessor = ref spec.Accessors[spec.Length - 1];
        var btf = spec.Btf;
        if (spec.BitOffset is < 0 or > uint.MaxValue)
            throw new CoreRelocationException($"field bit offset {spec.BitOffset} does not fit 32 bits");
        uint bitOffset = (uint)spec.BitOffset;

        if (accessor.Name is null)
        {
            // The path ends on an array element (or the root itself): only its offset and size make sense.
            uint elementSize = Checked32(CoreBtf.ResolveSize(btf, accessor.TypeId));
            switch (kind)
            {
                case CoreRelocationKind.FieldByteOffset:
                    value = bitOffset / 8;
                    fieldSize = elementSize;
                    fieldTypeId = accessor.TypeId;
                    return true;
                case CoreRelocationKind.FieldByteSize:
                    value = elementSize;
                    return true;
                default:
                    throw new CoreRelocationException($"{kind.ShortName()} cannot be applied to an array element");
            }
        }

        var holder = (BtfComposite)btf.GetType(accessor.TypeId);
        var member = holder.Members[accessor.Index];
        var memberType = CoreBtf.SkipModsAndTypedefs(btf, member.TypeId, out uint memberTypeId);
        uint bitSize = member.BitfieldSize;
        bool bitfield = bitSize > 0;
        uint byteSize, byteOffset;
        if (bitfield)
        {
            // The smallest aligned load, starting from the declared type's size, that covers every bit of the field.
            byteSize = memberType.Size ?? 0;
            if (byteSize == 0)
                throw new CoreRelocationException($"bitfield {member.Name} has a type without size ({CoreBtf.Describe(memberType)})");
            byteOffset = bitOffset / 8 / byteSize * byteSize;
            while ((ulong)bitOffset + bitSize - byteOffset * 8UL > byteSize * 8UL)
            {
                if (byteSize >= 8)
                    throw new CoreRelocationException($"bitfield {member.Name} cannot be read with one 64-bit load");
                byteSize *= 2;
                byteOffset = bitOffset / 8 / byteSize * byteSize;
            }
        }
        else
        {
            byteSize = Checked32(CoreBtf.ResolveSize(btf, memberTypeId));
            byteOffset = bitOffset / 8;
            bitSize = unchecked(byteSize * 8);
        }

        // The compiler and we may legitimately disagree on how to load a bitfield, so only unambiguous values are checked.
        validate = !bitfield;
        switch (kind)
        {
            case CoreRelocationKind.FieldByteOffset:
                value = byteOffset;
                if (!bitfield)
                {
                    fieldSize = byteSize;
                    fieldTypeId = memberTypeId;
                }
                break;
            case CoreRelocationKind.FieldByteSize:
                value = byteSize;
                break;
            case CoreRelocationKind.FieldSigned:
                value = (memberType is BtfEnum { IsSigned: true } || memberType is BtfInt { IsSigned: true }) ? 1u : 0u;
                validate = true;
                break;
            case CoreRelocationKind.FieldLShiftU64:
                // Little-endian: shift the field's top bit up to bit 63.
                value = unchecked(64u - (bitOffset + bitSize - byteOffset * 8));
                break;
            case CoreRelocationKind.FieldRShiftU64:
                value = unchecked(64u - bitSize);
                validate = true;
                break;
            default:
                throw new CoreRelocationException($"unsupported field relocation {kind.ShortName()}");
        }
        return true;
    }

    /// <summary>libbpf's bpf_core_calc_type_relo: a missing target type gives 0 for every type-based kind.</summary>
    private static ulong TypeValue(CoreRelocationKind kind, CoreAccessSpec? spec)
    {
        if (spec is null)
            return 0;
        return kind switch
        {
            CoreRelocationKind.TypeIdTarget or CoreRelocationKind.TypeIdLocal => spec.RootTypeId,
            CoreRelocationKind.TypeExists or CoreRelocationKind.TypeMatches => 1,
            CoreRelocationKind.TypeSize => CoreBtf.ResolveSize(spec.Btf, spec.RootTypeId),
            _ => throw new CoreRelocationException($"unsupported type relocation {kind.ShortName()}"),
        };
    }

    /// <summary>libbpf's bpf_core_calc_enumval_relo. Returns false when the value is needed but there is no target.</summary>
    private static bool EnumValue(CoreRelocationKind kind, CoreAccessSpec? spec, out ulong value)
    {
        value = 0;
        if (kind == CoreRelocationKind.EnumValueExists)
        {
            value = spec is null ? 0u : 1u;
            return true;
        }
        if (spec is null)
            return false;
        ref readonly var accessor = ref spec.Accessors[0];
        var enumType = (BtfEnum)spec.Btf.GetType(accessor.TypeId);
        long raw = enumType.Values[accessor.Index].Value;
        // libbpf reads a 32-bit enumerator as s32, so it sign-extends into the 64-bit value whatever the enum's signedness.
        value = enumType.Is64 ? (ulong)raw : (ulong)(long)(int)raw;
        return true;
    }

    private static uint Checked32(ulong size) =>
        size <= uint.MaxValue ? (uint)size : throw new CoreRelocationException($"size {size} does not fit 32 bits");
}
