using BpfPS.Core.Btf;

namespace BpfPS.Core.Loading;

/// <summary>How <see cref="Collection.Load"/> turns a spec into kernel objects. Every property has a sensible default.</summary>
public sealed class CollectionOptions
{
    /// <summary>
    /// Target BTF for CO-RE relocations; null: the running kernel's (KernelBtf.GetVmlinux()). Attach targets, kfuncs and
    /// typed ksyms are always looked up in the running kernel's BTF, since the kernel checks those ids against its own.
    /// </summary>
    public BtfSpec? TargetBtf { get; init; }

    /// <summary>
    /// Kernel module BTFs (split on <see cref="TargetBtf"/>, or on the running vmlinux without one) searched after vmlinux;
    /// null: none. Without <see cref="TargetBtf"/> they serve CO-RE and kernel ids alike; with it, CO-RE only, and kernel
    /// ids that vmlinux lacks are looked up in the running kernel's modules.
    /// </summary>
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
    /// Register struct_ops maps once the programs are loaded (default). False creates them with their values staged
    /// but registers nothing, like libbpf's load before bpf_map__attach_struct_ops.
    /// </summary>
    public bool RegisterStructOps { get; init; } = true;

    /// <summary>
    /// The programs to load, by name; every other program is skipped, whatever its <see cref="ProgramSpec.AutoLoad"/>
    /// says (libbpf: bpf_program__set_autoload). Null: the programs whose AutoLoad is true.
    /// </summary>
    public IReadOnlyCollection<string>? Programs { get; init; }

    /// <summary>
    /// Programs verified at once (the kernel verifies concurrent loads in parallel); 1 loads them one by one. 0 (the
    /// default) chooses by size: as many as the CPUs this process may use when at least two programs have
    /// <see cref="ParallelMinInstructions"/> instructions or more, else one by one, because small programs verify
    /// faster than threads can share them out (measured by the benchmark's <c>--parallel-threshold</c>). The result,
    /// the error of a failing load and the rollback are the same either way.
    /// </summary>
    public int MaxParallelism { get; init; }

    /// <summary>
    /// Instructions from which a program is worth a thread of its own when <see cref="MaxParallelism"/> is 0: below about
    /// a thousand, two threads verify no faster than one on the machines measured (the kernel's work per program is then
    /// a fraction of a millisecond, and handing programs to threads costs as much as it saves).
    /// </summary>
    public const int ParallelMinInstructions = 1024;

    /// <summary>Threads for loading programs of these sizes (instruction counts, subprograms included).</summary>
    internal int EffectiveParallelism(IEnumerable<int> programSizes)
    {
        if (MaxParallelism > 0) return MaxParallelism;
        int large = 0;
        foreach (int size in programSizes) // not Enumerable.Count<int>: JIT-compiled at the first load of every session
            if (size >= ParallelMinInstructions) large++;
        return large >= 2 ? Environment.ProcessorCount : 1;
    }
}
