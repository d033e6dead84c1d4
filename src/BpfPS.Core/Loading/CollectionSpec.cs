using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Collections;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

// Specs are the inert, inspectable, editable description of an object (cilium/ebpf's CollectionSpec): no kernel state.
// The parser produces them (CollectionSpec.Parse/Load); the loader consumes them.

/// <summary>Everything an ELF object describes, parsed and linked but not yet relocated against a kernel or loaded.</summary>
public sealed class CollectionSpec
{
    /// <summary>The object file this came from (for error messages).</summary>
    public required string Path { get; init; }
    /// <summary>Maps by name, in ELF order (BTF maps, legacy maps, global data sections such as ".rodata", ".kconfig").</summary>
    public required IReadOnlyDictionary<string, MapSpec> Maps { get; init; }
    /// <summary>Programs (entry points) by function name, in ELF order.</summary>
    public required IReadOnlyDictionary<string, ProgramSpec> Programs { get; init; }
    /// <summary>The object's BTF with libbpf's fix-ups applied (datasec sizes and var offsets); its RawBytes are what BPF_BTF_LOAD receives. Null without .BTF.</summary>
    public BtfSpec? Btf { get; init; }
    /// <summary>kconfig and ksym externs the programs reference.</summary>
    public ImmutableArray<ExternSpec> Externs { get; init; } = ImmutableArray<ExternSpec>.Empty;
    /// <summary>The "license" section's string ("" if none).</summary>
    public string License { get; init; } = "";
    /// <summary>The "version" section's value (0 if none).</summary>
    public uint KernelVersion { get; init; }

    /// <summary>Parses an ELF object. Pure: no syscalls, no kernel BTF.</summary>
    /// <exception cref="BpfFormatException">Malformed or unsupported input, naming the file, section and offset.</exception>
    public static CollectionSpec Parse(ReadOnlyMemory<byte> elf, string path) => ObjectParser.Parse(elf, path);

    /// <summary>Reads and parses an ELF object file.</summary>
    public static CollectionSpec Load(string path) => ObjectFileReader.Parse(path);
}

/// <summary>A map to create: from ".maps" (BTF-defined), "maps" (legacy), or a global data section.</summary>
public sealed class MapSpec
{
    public required string Name { get; init; }
    public BpfMapType Type { get; set; }
    public uint KeySize { get; set; }
    public uint ValueSize { get; set; }
    public uint MaxEntries { get; set; }
    public uint Flags { get; set; }
    public uint NumaNode { get; set; }
    public ulong MapExtra { get; set; }
    public MapPinning Pinning { get; set; }
    /// <summary>Key/value type ids in the object's BTF (0 when unknown: legacy maps, or no BTF).</summary>
    public uint KeyTypeId { get; set; }
    public uint ValueTypeId { get; set; }
    /// <summary>For array/hash of maps: the inner map's shape (from the __array(values, ...) declaration).</summary>
    public MapSpec? InnerMap { get; set; }
    /// <summary>Initial entries from a ".values" initialiser (map-in-map or prog array): slot index to map or program name.</summary>
    public ImmutableArray<MapInitEntry> Contents
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(ContentArray);
        set => ContentArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<MapInitEntry>.Empty;
    }
    // What the parser and loader use (see ProgramSpec.FuncInfoArray): an ImmutableArray<MapInitEntry>.Empty default was
    // JIT-compiled at the first parse of every session.
    internal MapInitEntry[] ContentArray { get; set; } = ValueList<MapInitEntry>.Empty;
    /// <summary>For global data sections: the initial value of element 0 (null for .bss: zeroes).</summary>
    public byte[]? InitialValue { get; set; }
    /// <summary>The ELF section the map came from (".maps", "maps", ".rodata", ".data.foo", ".bss", ".kconfig").</summary>
    public string SectionName { get; init; } = "";
    /// <summary>Global data or .kconfig: an array map of one element that libbpf would name "&lt;obj&gt;.rodata" etc.</summary>
    public bool IsInternal { get; init; }
    /// <summary>Freeze after initialisation (.rodata, .kconfig): programs can then treat it as constant.</summary>
    public bool Freeze { get; set; }
    /// <summary>For struct_ops maps (".struct_ops", ".struct_ops.link"): the struct the map registers, and its programs.</summary>
    public StructOpsSpec? StructOps { get; set; }
}

/// <summary>A ".values" initialiser slot.</summary>
public readonly record struct MapInitEntry(uint Index, string TargetName);

/// <summary>An entry point ready to relocate and load: its own code followed by every subprogram it calls.</summary>
public sealed class ProgramSpec
{
    /// <summary>Function name of the entry point.</summary>
    public required string Name { get; init; }
    /// <summary>ELF section, e.g. "xdp", "tracepoint/syscalls/sys_enter_openat".</summary>
    public required string SectionName { get; init; }
    public BpfProgramType Type { get; set; }
    public BpfAttachType ExpectedAttachType { get; set; }
    /// <summary>Attach target named in the section (fentry/fexit/tp_btf/lsm/iter/struct_ops function), else null.</summary>
    public string? AttachTo { get; set; }
    /// <summary>Program flags for BPF_PROG_LOAD (e.g. BPF_F_SLEEPABLE for ".s" sections).</summary>
    public uint Flags { get; set; }
    /// <summary>
    /// Whether <see cref="Collection.Load"/> loads this program (libbpf's autoload). False for sections written
    /// <c>SEC("?...")</c>; set it to choose, or name the programs in <see cref="CollectionOptions.Programs"/>.
    /// A program left out is parsed and inspectable but never relocated against the kernel nor loaded.
    /// </summary>
    public bool AutoLoad { get; set; } = true;
    public string License { get; set; } = "";
    public uint KernelVersion { get; set; }
    /// <summary>
    /// Linked code: entry point then appended subprograms, BPF-to-BPF call offsets fixed. Map references, externs and CO-RE
    /// are not yet applied (see <see cref="References"/>, <see cref="CoreRelocations"/>). Loading works on a copy.
    /// </summary>
    public required BpfInstruction[] Instructions { get; init; }
    /// <summary>func_info for the linked code (instruction indexes), in order; empty without .BTF.ext.</summary>
    public ImmutableArray<BtfFuncInfo> FuncInfos
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(FuncInfoArray);
        init => FuncInfoArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<BtfFuncInfo>.Empty;
    }
    /// <summary>line_info for the linked code (instruction indexes), in order.</summary>
    public ImmutableArray<BtfLineInfo> LineInfos
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(LineInfoArray);
        init => LineInfoArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<BtfLineInfo>.Empty;
    }
    /// <summary>CO-RE relocations for the linked code (instruction indexes).</summary>
    public ImmutableArray<CoreRelocation> CoreRelocations
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(CoreRelocationArray);
        init => CoreRelocationArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<CoreRelocation>.Empty;
    }
    /// <summary>Instructions that name a map, a global variable or an extern, to be patched at load.</summary>
    public ImmutableArray<InstructionReference> References
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(ReferenceArray);
        init => ReferenceArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<InstructionReference>.Empty;
    }

    // The parser and the loader use these arrays (the properties above wrap them without a copy): ImmutableArray members
    // over the core's record structs would be compiled by the JIT at the first load of every session, as ReadyToRun
    // cannot precompile framework generics over the core's types.
    internal BtfFuncInfo[] FuncInfoArray { get; init; } = ValueList<BtfFuncInfo>.Empty;
    internal BtfLineInfo[] LineInfoArray { get; init; } = ValueList<BtfLineInfo>.Empty;
    internal CoreRelocation[] CoreRelocationArray { get; init; } = ValueList<CoreRelocation>.Empty;
    internal InstructionReference[] ReferenceArray { get; init; } = ValueList<InstructionReference>.Empty;
}

/// <summary>What an instruction refers to.</summary>
public enum ReferenceKind
{
    /// <summary>ld_imm64 of a map's fd (src_reg BPF_PSEUDO_MAP_FD).</summary>
    MapFd,
    /// <summary>ld_imm64 of an address inside a map's value (src_reg BPF_PSEUDO_MAP_VALUE), e.g. a global variable; Offset is the byte offset.</summary>
    MapValue,
    /// <summary>ld_imm64 of a kernel variable (__ksym): becomes src_reg BPF_PSEUDO_BTF_ID with the kernel BTF id.</summary>
    KsymVariable,
    /// <summary>call of a kernel function (__ksym kfunc): becomes src_reg BPF_PSEUDO_KFUNC_CALL with the kernel BTF id.</summary>
    KsymFunction,
}

/// <summary>Instruction <see cref="Index"/> refers to <see cref="Target"/> (a map name or an extern name).</summary>
public readonly record struct InstructionReference(int Index, ReferenceKind Kind, string Target, uint Offset);

public enum ExternKind { Kconfig, Ksym }

/// <summary>
/// An extern the object declares. Kconfig externs live in the ".kconfig" map at <see cref="Offset"/> with <see cref="Size"/>;
/// ksyms are resolved by name against kernel BTF. <see cref="TypeId"/> is the extern's type in the object's BTF.
/// </summary>
public sealed record ExternSpec(string Name, ExternKind Kind, uint TypeId, bool IsWeak, uint Offset, uint Size);
