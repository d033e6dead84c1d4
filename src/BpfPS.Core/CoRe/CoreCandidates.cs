using BpfPS.Core.Btf;
using BpfPS.Core.Collections;

namespace BpfPS.Core.CoRe;

/// <summary>A target type that may correspond to a local type: same essential name, compatible kind.</summary>
internal readonly record struct CoreCandidate(BtfSpec Spec, uint TypeId);

/// <summary>
/// The candidates for one local type. Relocations against the same local type share the list, and libbpf narrows it to
/// the candidates that matched once any did, so later relocations only consider the structurally right ones.
/// </summary>
internal sealed class CoreCandidateList(CoreCandidate[] items)
{
    public CoreCandidate[] Items { get; } = items;
    public int Count { get; set; } = items.Length;

    /// <summary>
    /// Looks <paramref name="localType"/>'s essential name up in vmlinux (the first target), and only if vmlinux has no
    /// candidate in the module specs (their own ids only), as libbpf and the kernel do. Targets are only read.
    /// </summary>
    public static CoreCandidateList Find(BtfType localType, IReadOnlyList<BtfSpec> targets)
    {
        var essential = CoreNames.Essential(localType.Name);
        ValueList<CoreCandidate>? found = null; // not List<CoreCandidate>: see ValueList
        for (int t = 0; t < targets.Count; t++)
        {
            var target = targets[t];
            // Module specs answer for their base too; vmlinux was already searched.
            uint firstOwnId = t == 0 ? 0 : target.FirstTypeId;
            var ids = target.FindByEssentialName(essential);
            for (int i = 0; i < ids.Count; i++)
            {
                uint id = ids[i];
                if (id < firstOwnId || !CoreBtf.KindsCompatible(target.GetKind(id), localType.Kind))
                    continue;
                (found ??= new ValueList<CoreCandidate>()).Add(new CoreCandidate(target, id));
            }
            if (t == 0 && found is not null)
                break;
        }
        return new CoreCandidateList(found is null ? ValueList<CoreCandidate>.Empty : found.DrainToArray());
    }
}
