namespace BpfPS.Core.Elf;

/// <summary>One .symtab entry. <see cref="SectionIndex"/> is checked to be a real section, or one of the special values.</summary>
public readonly record struct ElfSymbol(
    int Index,
    string Name,
    ulong Value,
    ulong Size,
    byte Info,
    byte Other,
    ushort SectionIndex)
{
    public ElfSymbolType Type => (ElfSymbolType)(Info & 0xf);
    public ElfSymbolBinding Binding => (ElfSymbolBinding)(Info >> 4);
    public ElfSymbolVisibility Visibility => (ElfSymbolVisibility)(Other & 0x3);
    /// <summary>Undefined here (an extern).</summary>
    public bool IsUndefined => SectionIndex == ElfConstants.SectionUndefined;
    /// <summary>Lives in a real section (not undefined, absolute or common).</summary>
    public bool IsInSection => SectionIndex != ElfConstants.SectionUndefined && SectionIndex < ElfConstants.SectionLoReserve;
    public bool IsGlobal => Binding == ElfSymbolBinding.Global;
    public bool IsWeak => Binding == ElfSymbolBinding.Weak;

    public override string ToString() => $"#{Index} {Name} {Type} {Binding} sec {SectionIndex} value 0x{Value:x}";
}
