namespace BpfPS.Core.Elf;

/// <summary>
/// One section header, decoded and bounds-checked: for every type but NOBITS, [<see cref="Offset"/>, Offset+<see cref="Size"/>)
/// lies inside the file. The bytes are not copied: ask <see cref="ElfFile.GetData(in ElfSection)"/> for a slice.
/// </summary>
public readonly record struct ElfSection(
    int Index,
    string Name,
    ElfSectionType Type,
    ElfSectionFlags Flags,
    ulong Offset,
    ulong Size,
    uint Link,
    uint Info,
    ulong Alignment,
    ulong EntrySize)
{
    /// <summary>Holds instructions (SHF_EXECINSTR).</summary>
    public bool IsExecutable => (Flags & ElfSectionFlags.ExecInstr) != 0;
    /// <summary>Occupies memory at run time (SHF_ALLOC).</summary>
    public bool IsAllocated => (Flags & ElfSectionFlags.Alloc) != 0;
    /// <summary>Writable data (SHF_WRITE).</summary>
    public bool IsWritable => (Flags & ElfSectionFlags.Write) != 0;

    public override string ToString() => $"[{Index}] {Name} {Type} size {Size}";
}
