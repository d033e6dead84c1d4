namespace BpfPS.Core.Elf;

/// <summary>
/// One REL entry (Elf64_Rel): a place in the target section (<see cref="Offset"/>, bytes) that refers to symbol
/// <see cref="SymbolIndex"/> (checked against .symtab). <see cref="EntryOffset"/> is where the entry itself sits in its
/// .rel section, for error messages.
/// </summary>
public readonly record struct ElfRelocation(ulong Offset, uint SymbolIndex, BpfRelocationType Type, long EntryOffset);
