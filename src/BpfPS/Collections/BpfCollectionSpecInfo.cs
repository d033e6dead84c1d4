using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// An object file parsed, and its programs relocated against target BTF, without touching the kernel: what
/// Get-BpfCollectionSpec returns for inspection. Its map specs can be edited (MaxEntries, Pinning, ...) and the whole
/// thing piped to Import-BpfCollection.
/// </summary>
public sealed class BpfCollectionSpecInfo
{
    internal BpfCollectionSpecInfo(CollectionSpec spec, IEnumerable<BpfProgramSpecInfo> programs)
    {
        Spec = spec;
        Maps = new OrderedDictionary<string, MapSpec>(spec.Maps, StringComparer.Ordinal);
        Programs = new OrderedDictionary<string, BpfProgramSpecInfo>(StringComparer.Ordinal);
        foreach (var program in programs) Programs.Add(program.Name, program);
    }

    /// <summary>The object file's name.</summary>
    public string Name => System.IO.Path.GetFileName(Spec.Path);
    public string Path => Spec.Path;
    /// <summary>Maps the load would create, by name (editable before loading).</summary>
    public OrderedDictionary<string, MapSpec> Maps { get; }
    /// <summary>Programs by function name, with their relocated code.</summary>
    public OrderedDictionary<string, BpfProgramSpecInfo> Programs { get; }
    /// <summary>kconfig and ksym externs the programs use.</summary>
    public ImmutableArray<ExternSpec> Externs => Spec.Externs;
    public string License => Spec.License;
    /// <summary>The object's own BTF (browse it with Get-BtfType -Path).</summary>
    public BtfSpec? Btf => Spec.Btf;
    /// <summary>The core spec.</summary>
    public CollectionSpec Spec { get; }

    public override string ToString() => $"{Name}: {Programs.Count} programs, {Maps.Count} maps";
}
