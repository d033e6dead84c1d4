using BpfPS.Core.Btf;

namespace BpfPS.Core.CoRe;

/// <summary>
/// Replays a local access path on one candidate target type (libbpf's bpf_core_spec_match), filling a target spec with
/// the target's own member indexes and bit offset. Named members are found by exact name, searching through anonymous
/// structs and unions; array indexes must fit the target's array (unless it is a flexible array member).
/// </summary>
internal static class CoreSpecMatcher
{
    /// <returns>True when the candidate matches; <paramref name="target"/> then holds its spec.</returns>
    public static bool Match(CoreAccessSpec local, BtfSpec targetBtf, uint targetId, CoreAccessSpec target)
    {
        target.Reset(targetBtf, targetId, local.Kind);

        if (local.Kind.IsTypeBased())
        {
            return local.Kind == CoreRelocationKind.TypeMatches
                ? CoreTypeCompatibility.TypesMatch(local.Btf, local.RootTypeId, targetBtf, targetId)
                : CoreTypeCompatibility.TypesAreCompatible(local.Btf, local.RootTypeId, targetBtf, targetId);
        }

        if (local.Kind.IsEnumValueBased())
            return MatchEnumerator(local, targetBtf, targetId, target);

        for (int i = 0; i < local.Length; i++)
        {
            var targetType = CoreBtf.SkipModsAndTypedefs(targetBtf, targetId, out targetId);
            ref readonly var localAccessor = ref local.Accessors[i];
            if (localAccessor.Name is not null)
            {
                if (!MatchMember(local.Btf, localAccessor, targetBtf, targetId, target, ref targetId))
                    return false;
                continue;
            }

            // The first accessor indexes the root itself; later ones need an array in the target too.
            if (i > 0)
            {
                if (targetType is not BtfArray array)
                    return false;
                if (!CoreAccessSpec.IsFlexibleArray(targetBtf, target.Accessors[i - 1], array) && localAccessor.Index >= array.Count)
                    return false;
                CoreBtf.SkipModsAndTypedefs(targetBtf, array.ElementTypeId, out targetId);
            }
            target.PushRaw(localAccessor.Index);
            target.PushAccessor(targetId, localAccessor.Index, null);
            target.BitOffset = checked(target.BitOffset + localAccessor.Index * (long)CoreBtf.ResolveSize(targetBtf, targetId) * 8);
        }
        return true;
    }

    private static bool MatchEnumerator(CoreAccessSpec local, BtfSpec targetBtf, uint targetId, CoreAccessSpec target)
    {
        if (CoreBtf.SkipModsAndTypedefs(targetBtf, targetId, out targetId) is not BtfEnum targetEnum)
            return false;
        var localName = CoreNames.Essential(local.Accessors[0].Name);
        var values = targetEnum.Values;
        for (int i = 0; i < values.Length; i++)
        {
            if (CoreNames.Essential(values[i].Name).SequenceEqual(localName))
            {
                target.PushRaw(i);
                target.PushAccessor(targetId, i, values[i].Name);
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// libbpf's bpf_core_match_member: walks the target composite's members in order, descending into anonymous ones,
    /// speculatively extending the raw path and bit offset and undoing them when a branch does not hold the field.
    /// </summary>
    private static bool MatchMember(BtfSpec localBtf, in CoreAccessor localAccessor, BtfSpec targetBtf, uint targetId,
        CoreAccessSpec target, ref uint nextTargetId)
    {
        if (CoreBtf.SkipModsAndTypedefs(targetBtf, targetId, out targetId) is not BtfComposite targetComposite)
            return false;
        var localMember = ((BtfComposite)localBtf.GetType(localAccessor.TypeId)).Members[localAccessor.Index];
        var members = targetComposite.Members;
        for (int i = 0; i < members.Length; i++)
        {
            var member = members[i];
            target.PushRaw(i);
            target.BitOffset += member.BitOffset;
            if (member.Name.Length == 0)
            {
                if (MatchMember(localBtf, localAccessor, targetBtf, member.TypeId, target, ref nextTargetId))
                    return true;
            }
            else if (string.Equals(member.Name, localMember.Name, StringComparison.Ordinal))
            {
                if (CoreTypeCompatibility.FieldsAreCompatible(localBtf, localMember.TypeId, targetBtf, member.TypeId))
                {
                    target.PushAccessor(targetId, i, member.Name);
                    nextTargetId = member.TypeId;
                    return true;
                }
                // Same name, incompatible type: C forbids a second member of that name, so the field is not here.
                target.BitOffset -= member.BitOffset;
                target.RawLength--;
                return false;
            }
            target.BitOffset -= member.BitOffset;
            target.RawLength--;
        }
        return false;
    }
}
