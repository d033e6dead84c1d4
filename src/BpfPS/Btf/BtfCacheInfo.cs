namespace BpfPS;

/// <summary>What Get-BtfCache reports: whether the kernel BTF is parsed, how much of it is decoded, and who holds it.</summary>
public sealed class BtfCacheInfo
{
    /// <summary>Where kernel BTF is read from (/sys/kernel/btf/vmlinux).</summary>
    public required string Source { get; init; }
    /// <summary>True while a parsed kernel spec is alive in this process (held by some runspace or a load in progress).</summary>
    public required bool Loaded { get; init; }
    /// <summary>True when this runspace holds a strong reference (after Get-BtfType, completion or a load; false after Clear-BtfCache).</summary>
    public required bool HeldByRunspace { get; init; }
    /// <summary>Types in the kernel spec (0 when not loaded).</summary>
    public required int TypeCount { get; init; }
    /// <summary>How many of them have been decoded so far (types are decoded on first use).</summary>
    public required int DecodedTypeCount { get; init; }
    /// <summary>Size of the raw BTF blob in bytes.</summary>
    public required long RawBytes { get; init; }
    /// <summary>How many times this process has parsed the kernel BTF: stays 1 while any runspace holds it.</summary>
    public required int ParseCount { get; init; }
    /// <summary>Identifies the spec instance in this process: equal ids mean the very same object is shared.</summary>
    public required long InstanceId { get; init; }
    /// <summary>Kernel module specs this runspace holds (Get-BtfType -Module).</summary>
    public required IReadOnlyList<string> Modules { get; init; }
    /// <summary>The runspace this report is about.</summary>
    public required int RunspaceId { get; init; }
}
