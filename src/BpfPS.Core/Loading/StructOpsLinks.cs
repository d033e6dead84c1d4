namespace BpfPS.Core.Loading;

/// <summary>BPF_LINK_CREATE (attach type BPF_STRUCT_OPS) over a BPF_F_LINK struct_ops map.</summary>
internal static class StructOpsLinks
{
    public static (IDisposable Link, uint Id) Create(LoadedMap map) =>
        throw new BpfLoadException(map.Spec.Name, $"map '{map.Name}'", "registering struct_ops through a BPF link is not available yet");
}
