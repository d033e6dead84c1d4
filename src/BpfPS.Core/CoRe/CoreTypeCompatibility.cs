using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// libbpf's three notions of "the same type in another BTF": loose field compatibility (field relocations), type
/// compatibility (type_exists/size/id) and the stricter type match (bpf_core_type_matches). Local and target are only read.
/// </summary>
internal static class CoreTypeCompatibility
{
    /// <summary>libbpf caps its type walks at this depth (and recursion level for prototypes and members).</summary>
    public const int MaxDepth = 32;

    /// <summary>
    /// bpf_core_fields_are_compat: modifiers and typedefs are skipped; any two structs/unions are compatible; pointers and
    /// floats always; enums and fwds when their essential names agree or one is anonymous; ints unless bitfield-like;
    /// arrays by element type. Anything else is not a relocatable field.
    /// </summary>
    public static bool FieldsAreCompatible(BtfSpec local, uint localId, BtfSpec target, uint targetId)
    {
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            var localType = CoreBtf.SkipModsAndTypedefs(local, localId, out localId);
            var targetType = CoreBtf.SkipModsAndTypedefs(target, targetId, out targetId);
            if (localType is BtfComposite && targetType is BtfComposite)
                return true;
            if (!CoreBtf.KindsCompatible(localType, targetType))
                return false;
            switch (localType)
            {
                case BtfReference { Kind: BtfKind.Pointer }:
                case BtfFloat:
                    return true;
                case BtfFwd or BtfEnum:
                    var localName = CoreNames.Essential(localType.Name);
                    var targetName = CoreNames.Essential(targetType.Name);
                    return localName.IsEmpty || targetName.IsEmpty || localName.SequenceEqual(targetName);
                case BtfInt localInt:
                    return localInt.BitOffset == 0 && ((BtfInt)targetType).BitOffset == 0;
                case BtfArray localArray:
                    localId = localArray.ElementTypeId;
                    targetId = ((BtfArray)targetType).ElementTypeId;
                    continue;
                default:
                    return false;
            }
        }
        throw new CoreRelocationException($"field types nest deeper than {MaxDepth} arrays (cyclic?)");
    }

    /// <summary>
    /// bpf_core_types_are_compat (the caller already paired names): same kind at the root, then after skipping modifiers
    /// composites/enums/fwds/void are compatible as they are, ints unless bitfield-like, pointers and arrays by target
    /// type, prototypes by parameter count and each parameter and return type.
    /// </summary>
    public static bool TypesAreCompatible(BtfSpec local, uint localId, BtfSpec target, uint targetId, int level = MaxDepth)
    {
        if (!CoreBtf.KindsCompatible(local.GetType(localId), target.GetType(targetId)))
            return false;
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            var localType = CoreBtf.SkipModsAndTypedefs(local, localId, out localId);
            var targetType = CoreBtf.SkipModsAndTypedefs(target, targetId, out targetId);
            if (!CoreBtf.KindsCompatible(localType, targetType))
                return false;
            switch (localType)
            {
                case BtfVoid or BtfComposite or BtfEnum or BtfFwd:
                    return true;
                case BtfInt localInt:
                    return localInt.BitOffset == 0 && ((BtfInt)targetType).BitOffset == 0;
                case BtfReference { Kind: BtfKind.Pointer } localPointer:
                    localId = localPointer.TypeId;
                    targetId = ((BtfReference)targetType).TypeId;
                    continue;
                case BtfArray localArray:
                    localId = localArray.ElementTypeId;
                    targetId = ((BtfArray)targetType).ElementTypeId;
                    continue;
                case BtfFuncProto localProto:
                    var targetProto = (BtfFuncProto)targetType;
                    if (localProto.Parameters.Length != targetProto.Parameters.Length)
                        return false;
                    for (int i = 0; i < localProto.Parameters.Length; i++)
                    {
                        if (level <= 0)
                            throw TooDeep();
                        CoreBtf.SkipModsAndTypedefs(local, localProto.Parameters[i].TypeId, out uint localParameter);
                        CoreBtf.SkipModsAndTypedefs(target, targetProto.Parameters[i].TypeId, out uint targetParameter);
                        if (!TypesAreCompatible(local, localParameter, target, targetParameter, level - 1))
                            return false;
                    }
                    localId = localProto.ReturnTypeId;
                    targetId = targetProto.ReturnTypeId;
                    continue;
                default:
                    return false;   // e.g. float: libbpf does not relocate it as a type
            }
        }
        throw TooDeep();
    }

    /// <summary>
    /// bpf_core_types_match (the caller already paired root names): modifiers and typedefs skipped, names must agree at
    /// every level, kinds must agree except that a struct/union behind a pointer may match a fwd of the same flavour and
    /// enum matches enum64; ints by size and signedness; arrays by length and element; pointers by pointee; composites
    /// when every local member has a same-named matching target member; enums when sizes agree and every local
    /// enumerator name exists in the target; prototypes by arity and each parameter and the return type.
    /// </summary>
    public static bool TypesMatch(BtfSpec local, uint localId, BtfSpec target, uint targetId, bool behindPointer = false, int level = MaxDepth)
    {
        if (level <= 0)
            throw TooDeep();
        for (int depth = 0; depth < MaxDepth; depth++)
        {
            var localType = CoreBtf.SkipModsAndTypedefs(local, localId, out localId);
            var targetType = CoreBtf.SkipModsAndTypedefs(target, targetId, out targetId);
            if (!CoreNames.MatchForTypeMatches(localType.Name, targetType.Name))
                return false;
            switch (localType)
            {
                case BtfVoid:
                    return targetType is BtfVoid;
                case BtfFwd localFwd:
                    if (targetType is BtfFwd targetFwd)
                        return localFwd.IsUnion == targetFwd.IsUnion;
                    // Behind a pointer a fwd stands for the struct or union it declares.
                    return behindPointer && targetType is BtfComposite targetComposite && targetComposite.IsUnion == localFwd.IsUnion;
                case BtfEnum localEnum:
                    return targetType is BtfEnum targetEnum && EnumsMatch(localEnum, targetEnum);
                case BtfComposite localComposite:
                    if (behindPointer)
                    {
                        if (localType.Kind == targetType.Kind)
                            return true;
                        return targetType is BtfFwd fwd && fwd.IsUnion == localComposite.IsUnion;
                    }
                    return localType.Kind == targetType.Kind
                        && CompositesMatch(local, localComposite, target, (BtfComposite)targetType, behindPointer, level);
                case BtfInt localInt:
                    return targetType is BtfInt targetInt && localInt.ByteSize == targetInt.ByteSize && localInt.IsSigned == targetInt.IsSigned;
                case BtfReference { Kind: BtfKind.Pointer } localPointer:
                    if (targetType is not BtfReference { Kind: BtfKind.Pointer } targetPointer)
                        return false;
                    behindPointer = true;
                    localId = localPointer.TypeId;
                    targetId = targetPointer.TypeId;
                    continue;
                case BtfArray localArray:
                    if (targetType is not BtfArray targetArray || localArray.Count != targetArray.Count)
                        return false;
                    localId = localArray.ElementTypeId;
                    targetId = targetArray.ElementTypeId;
                    continue;
                case BtfFuncProto localProto:
                    if (targetType is not BtfFuncProto targetProto || localProto.Parameters.Length != targetProto.Parameters.Length)
                        return false;
                    for (int i = 0; i < localProto.Parameters.Length; i++)
                    {
                        if (!TypesMatch(local, localProto.Parameters[i].TypeId, target, targetProto.Parameters[i].TypeId, behindPointer, level - 1))
                            return false;
                    }
                    localId = localProto.ReturnTypeId;
                    targetId = targetProto.ReturnTypeId;
                    continue;
                default:
                    return false;
            }
        }
        throw TooDeep();
    }

    private static bool EnumsMatch(BtfEnum local, BtfEnum target)
    {
        if (local.ByteSize != target.ByteSize || local.Values.Length > target.Values.Length)
            return false;
        foreach (var localValue in local.Values)
        {
            bool found = false;
            foreach (var targetValue in target.Values)
            {
                if (CoreNames.MatchForTypeMatches(localValue.Name, targetValue.Name))
                {
                    found = true;
                    break;
                }
            }
            if (!found)
                return false;
        }
        return true;
    }

    private static bool CompositesMatch(BtfSpec local, BtfComposite localType, BtfSpec target, BtfComposite targetType, bool behindPointer, int level)
    {
        if (localType.Members.Length > targetType.Members.Length)
            return false;
        foreach (var localMember in localType.Members)
        {
            bool found = false;
            foreach (var targetMember in targetType.Members)
            {
                if (CoreNames.MatchForTypeMatches(localMember.Name, targetMember.Name)
                    && TypesMatch(local, localMember.TypeId, target, targetMember.TypeId, behindPointer, level - 1))
                {
                    found = true;
                    break;
                }
            }
            if (!found)
                return false;
        }
        return true;
    }

    private static CoreRelocationException TooDeep() => new($"types nest deeper than {MaxDepth} levels (cyclic?)");
}
