namespace BpfPS.Core.Elf;

/// <summary>ELF section header types (sh_type) that an eBPF object uses.</summary>
public enum ElfSectionType : uint
{
    Null = 0,
    ProgBits = 1,
    SymbolTable = 2,
    StringTable = 3,
    Rela = 4,
    Hash = 5,
    Dynamic = 6,
    Note = 7,
    NoBits = 8,
    Rel = 9,
    DynamicSymbols = 11,
    SymbolTableIndexes = 18,
    LlvmAddrsig = 0x6fff4c03,
}

/// <summary>Section header flags (sh_flags).</summary>
[Flags]
public enum ElfSectionFlags : ulong
{
    None = 0,
    Write = 0x1,
    Alloc = 0x2,
    ExecInstr = 0x4,
    Merge = 0x10,
    Strings = 0x20,
    InfoLink = 0x40,
}

/// <summary>Symbol type (low nibble of st_info).</summary>
public enum ElfSymbolType : byte
{
    NoType = 0,
    Object = 1,
    Func = 2,
    Section = 3,
    File = 4,
    Common = 5,
    Tls = 6,
}

/// <summary>Symbol binding (high nibble of st_info).</summary>
public enum ElfSymbolBinding : byte
{
    Local = 0,
    Global = 1,
    Weak = 2,
}

/// <summary>Symbol visibility (low two bits of st_other).</summary>
public enum ElfSymbolVisibility : byte
{
    Default = 0,
    Internal = 1,
    Hidden = 2,
    Protected = 3,
}

/// <summary>Relocation types of EM_BPF objects (llvm's BPF backend; see the kernel's Documentation/bpf/llvm_reloc.rst).</summary>
public enum BpfRelocationType : uint
{
    None = 0,
    /// <summary>ld_imm64 of a symbol's address (maps, global data, ksyms, callbacks).</summary>
    Bpf64_64 = 1,
    /// <summary>64-bit data word (e.g. a pointer in .maps "values", or in DWARF).</summary>
    Bpf64Abs64 = 2,
    /// <summary>32-bit data word (e.g. section offsets in .BTF/.BTF.ext).</summary>
    Bpf64Abs32 = 3,
    /// <summary>Like Abs32 but not meant for a dynamic linker (.BTF.ext records).</summary>
    Bpf64NoDyld32 = 4,
    /// <summary>BPF-to-BPF call or kfunc call: the imm holds a pc-relative instruction offset.</summary>
    Bpf64_32 = 10,
}

/// <summary>Header and special-index values the reader checks.</summary>
public static class ElfConstants
{
    /// <summary>e_machine for eBPF.</summary>
    public const ushort MachineBpf = 247;
    /// <summary>e_type for relocatable objects (what clang -c emits).</summary>
    public const ushort TypeRelocatable = 1;
    public const int HeaderSize = 64;
    public const int SectionHeaderSize = 64;
    public const int SymbolSize = 24;
    public const int RelSize = 16;

    /// <summary>Undefined section index: externs.</summary>
    public const ushort SectionUndefined = 0;
    /// <summary>First reserved section index: indexes at or above this are special.</summary>
    public const ushort SectionLoReserve = 0xff00;
    /// <summary>Absolute symbol (not relative to a section).</summary>
    public const ushort SectionAbsolute = 0xfff1;
    /// <summary>Common symbol (uninitialised, unallocated).</summary>
    public const ushort SectionCommon = 0xfff2;
    /// <summary>The real index lives in SHT_SYMTAB_SHNDX (or, for e_shstrndx, in section 0's sh_link).</summary>
    public const ushort SectionExtendedIndex = 0xffff;
}
