using BpfPS.Core.Btf;

namespace BpfPS.Core.Loading;

/// <summary>How <see cref="Collection.Load"/> turns a spec into kernel objects. Every property has a sensible default.</summary>
public sealed class CollectionOptions
{
    /// <summary>Target BTF for CO-RE, ksyms and attach targets; null: the running kernel's (KernelBtf.GetVmlinux()).</summary>
    public BtfSpec? TargetBtf { get; init; }

    /// <summary>Kernel module BTFs (split on <see cref="TargetBtf"/>) searched after vmlinux; null: none.</summary>
    public IReadOnlyList<BtfSpec>? ModuleBtfs { get; init; }

    /// <summary>Directory for LIBBPF_PIN_BY_NAME maps; null: /sys/fs/bpf.</summary>
    public string? PinPath { get; init; }

    /// <summary>Verifier log detail. With <see cref="VerifierLogLevel.None"/>, a failing program is retried with a basic log.</summary>
    public VerifierLogLevel LogLevel { get; init; }

    /// <summary>Initial log buffer in bytes; grows on ENOSPC. 0: the kernel layer's default.</summary>
    public uint LogSize { get; init; }

    /// <summary>
    /// Values for read-only globals (<c>const volatile</c> in .rodata*), by variable name, written before the maps are
    /// created. Type and size are checked against the object's BTF: integers (range-checked), bool, enums (number or
    /// enumerator name), char arrays (string), floats, or a byte[] of exactly the variable's size.
    /// </summary>
    public IReadOnlyDictionary<string, object>? Constants { get; init; }

    /// <summary>Called once per program as loading proceeds.</summary>
    public IProgress<LoadProgress>? Progress { get; init; }

    /// <summary>
    /// Kernel configuration to use for __kconfig externs instead of /boot/config-$(uname -r) or /proc/config.gz:
    /// "CONFIG_NAME" to the raw value as the config file spells it ("y", "m", "1000", "\"text\"").
    /// </summary>
    public IReadOnlyDictionary<string, string>? KernelConfig { get; init; }

    /// <summary>
    /// Programs verified at once (the kernel verifies concurrent loads in parallel); 1 loads them one by one, 0 (the
    /// default) as many as the CPUs this process may use. The result, the error of a failing load and the rollback are
    /// the same either way.
    /// </summary>
    public int MaxParallelism { get; init; }

    internal int EffectiveParallelism => MaxParallelism > 0 ? MaxParallelism : Environment.ProcessorCount;
}
