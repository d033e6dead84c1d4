using System.Buffers.Binary;
using System.Text;

namespace BpfPS.Core.Elf;

/// <summary>
/// A read-only view of an ELF64 little-endian EM_BPF relocatable object (what <c>clang -target bpf -c</c> emits).
/// Parsing decodes the section headers, section names and .symtab once, checking every offset, size and index against
/// the buffer, so later lookups cannot read out of range. Section contents are never copied: <see cref="GetData(in ElfSection)"/>
/// returns slices of the caller's buffer. Every malformed input gives a <see cref="BpfFormatException"/> naming the file,
/// the section and the offset.
/// </summary>
public sealed class ElfFile
{
    private readonly ElfSection[] _sections;
    private readonly ElfSymbol[] _symbols;

    private ElfFile(string path, ReadOnlyMemory<byte> bytes, ElfSection[] sections, ElfSymbol[] symbols, int symbolTableIndex)
    {
        Path = path;
        Bytes = bytes;
        _sections = sections;
        _symbols = symbols;
        SymbolTableIndex = symbolTableIndex;
    }

    /// <summary>The file name used in error messages.</summary>
    public string Path { get; }
    /// <summary>The whole object as given.</summary>
    public ReadOnlyMemory<byte> Bytes { get; }
    /// <summary>Section headers in file order; index 0 is the null section.</summary>
    public IReadOnlyList<ElfSection> Sections => _sections;
    /// <summary>.symtab entries in order; index 0 is the null symbol. Empty when the object has no symbol table.</summary>
    public IReadOnlyList<ElfSymbol> Symbols => _symbols;

    // The parser indexes these arrays: IReadOnlyList over an array of the core's structs dispatches to framework generics
    // (SZArrayHelper) that ReadyToRun cannot precompile here, JIT-compiled at the first parse of every session.
    internal ElfSection[] SectionArray => _sections;
    internal ElfSymbol[] SymbolArray => _symbols;
    /// <summary>Index of the SHT_SYMTAB section, or 0 when there is none.</summary>
    public int SymbolTableIndex { get; }

    /// <summary>Reads a file from disk and parses it.</summary>
    public static ElfFile Load(string path) => Parse(File.ReadAllBytes(path), path);

    /// <summary>Parses and validates headers, section names and the symbol table.</summary>
    /// <exception cref="BpfFormatException">The object is truncated, not ELF64 LE EM_BPF ET_REL, or internally inconsistent.</exception>
    public static ElfFile Parse(ReadOnlyMemory<byte> bytes, string path)
    {
        var data = bytes.Span;
        ReadHeader(data, path, out ulong sectionHeaderOffset, out int sectionCount, out int namesIndex);

        var sections = new ElfSection[sectionCount];
        var headers = data.Slice((int)sectionHeaderOffset, sectionCount * ElfConstants.SectionHeaderSize);
        for (int i = 0; i < sectionCount; i++)
            sections[i] = ReadSectionHeader(headers.Slice(i * ElfConstants.SectionHeaderSize), i, data.Length, path, sectionHeaderOffset);

        var names = sections[namesIndex];
        if (names.Type != ElfSectionType.StringTable)
            throw new BpfFormatException($"section name table (section {namesIndex}) is {names.Type}, not a string table", path, null, (long)sectionHeaderOffset);
        var nameBytes = data.Slice((int)names.Offset, (int)names.Size);
        for (int i = 0; i < sectionCount; i++)
        {
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(headers.Slice(i * ElfConstants.SectionHeaderSize));
            string name = ReadString(nameBytes, nameOffset, path, ".shstrtab", (long)names.Offset, $"name of section {i}");
            sections[i] = sections[i] with { Name = name };
        }

        int symbolTableIndex = 0;
        for (int i = 1; i < sectionCount; i++)
        {
            if (sections[i].Type == ElfSectionType.SymbolTableIndexes)
                throw new BpfFormatException("extended section indexes (SHT_SYMTAB_SHNDX) are not supported", path, sections[i].Name, (long)sections[i].Offset);
            if (sections[i].Type != ElfSectionType.SymbolTable) continue;
            if (symbolTableIndex != 0)
                throw new BpfFormatException("more than one symbol table", path, sections[i].Name, (long)sections[i].Offset);
            symbolTableIndex = i;
        }

        var symbols = symbolTableIndex == 0 ? Array.Empty<ElfSymbol>() : ReadSymbols(data, sections, symbolTableIndex, path);
        return new ElfFile(path, bytes, sections, symbols, symbolTableIndex);
    }

    /// <summary>The section's bytes (empty for NOBITS sections such as .bss, and for the null section). No copy.</summary>
    public ReadOnlyMemory<byte> GetData(in ElfSection section) => HasFileData(section)
        ? Bytes.Slice((int)section.Offset, (int)section.Size)
        : ReadOnlyMemory<byte>.Empty;

    /// <summary>Only these sections had their offset and size checked against the file.</summary>
    private static bool HasFileData(in ElfSection s) =>
        s.Index != 0 && s.Type != ElfSectionType.NoBits && s.Type != ElfSectionType.Null;

    /// <summary>The section with this index; a bad index is a format error that names <paramref name="what"/>.</summary>
    public ElfSection GetSection(uint index, string what, string? section = null, long offset = -1)
    {
        if (index >= (uint)_sections.Length)
            throw Error($"{what}: section index {index} out of range (object has {_sections.Length} sections)", section, offset);
        return _sections[index];
    }

    /// <summary>The first section with this name, if any.</summary>
    public bool TryGetSection(string name, out ElfSection section)
    {
        foreach (var s in _sections)
        {
            if (s.Name == name) { section = s; return true; }
        }
        section = default;
        return false;
    }

    /// <summary>The symbol with this index; a bad index is a format error.</summary>
    public ElfSymbol GetSymbol(uint index, string? section = null, long offset = -1)
    {
        if (index >= (uint)_symbols.Length)
            throw Error($"symbol index {index} out of range (symbol table has {_symbols.Length} entries)", section, offset);
        return _symbols[index];
    }

    /// <summary>
    /// Decodes a SHT_REL section. Each entry's symbol index is checked against .symtab and its offset against the size of
    /// the section it patches (sh_info).
    /// </summary>
    public ElfRelocation[] ReadRelocations(in ElfSection rel)
    {
        if (rel.Type != ElfSectionType.Rel)
            throw Error($"section type {rel.Type} is not SHT_REL", rel.Name, (long)rel.Offset);
        if (rel.EntrySize != 0 && rel.EntrySize != ElfConstants.RelSize)
            throw Error($"relocation entry size {rel.EntrySize}, expected {ElfConstants.RelSize}", rel.Name, (long)rel.Offset);
        if (rel.Size % ElfConstants.RelSize != 0)
            throw Error($"relocation section size {rel.Size} is not a multiple of {ElfConstants.RelSize}", rel.Name, (long)rel.Offset);
        if (rel.Link != (uint)SymbolTableIndex || SymbolTableIndex == 0)
            throw Error($"relocations link to section {rel.Link}, which is not the symbol table", rel.Name, (long)rel.Offset);
        var target = GetSection(rel.Info, "relocation target", rel.Name, (long)rel.Offset);

        var data = GetData(rel).Span;
        var result = new ElfRelocation[data.Length / ElfConstants.RelSize];
        for (int i = 0; i < result.Length; i++)
        {
            var entry = data.Slice(i * ElfConstants.RelSize, ElfConstants.RelSize);
            ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(entry);
            ulong info = BinaryPrimitives.ReadUInt64LittleEndian(entry.Slice(8));
            uint symbol = (uint)(info >> 32);
            var type = (BpfRelocationType)(uint)info;
            long where = (long)rel.Offset + i * ElfConstants.RelSize;
            if (symbol >= (uint)_symbols.Length)
                throw Error($"relocation #{i} names symbol {symbol}, past the end of the symbol table ({_symbols.Length} entries)", rel.Name, where);
            if (offset >= target.Size)
                throw Error($"relocation #{i} patches offset 0x{offset:x}, outside {target.Name} (size 0x{target.Size:x})", rel.Name, where);
            result[i] = new ElfRelocation(offset, symbol, type, where);
        }
        return result;
    }

    /// <summary>A format exception naming this file.</summary>
    public BpfFormatException Error(string message, string? section = null, long offset = -1) =>
        new(message, Path, section, offset);

    private static void ReadHeader(ReadOnlySpan<byte> data, string path, out ulong sectionHeaderOffset, out int sectionCount, out int namesIndex)
    {
        if (data.Length < ElfConstants.HeaderSize)
            throw new BpfFormatException($"file is {data.Length} bytes, too short for an ELF header", path, null, 0);
        if (data[0] != 0x7f || data[1] != (byte)'E' || data[2] != (byte)'L' || data[3] != (byte)'F')
            throw new BpfFormatException("not an ELF file (bad magic)", path, null, 0);
        if (data[4] != 2)
            throw new BpfFormatException($"ELF class {data[4]} is not ELFCLASS64", path, null, 4);
        if (data[5] != 1)
            throw new BpfFormatException($"ELF data encoding {data[5]} is not little-endian (big-endian BPF objects are not supported)", path, null, 5);
        if (data[6] != 1)
            throw new BpfFormatException($"ELF version {data[6]} is not 1", path, null, 6);

        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(16));
        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(18));
        if (machine != ElfConstants.MachineBpf)
            throw new BpfFormatException($"machine {machine} is not EM_BPF ({ElfConstants.MachineBpf})", path, null, 18);
        if (type != ElfConstants.TypeRelocatable)
            throw new BpfFormatException($"ELF type {type} is not ET_REL (a relocatable object)", path, null, 16);

        sectionHeaderOffset = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(40));
        ushort entrySize = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(58));
        uint count = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(60));
        uint names = BinaryPrimitives.ReadUInt16LittleEndian(data.Slice(62));
        if (entrySize != ElfConstants.SectionHeaderSize)
            throw new BpfFormatException($"section header size {entrySize}, expected {ElfConstants.SectionHeaderSize}", path, null, 58);
        if (sectionHeaderOffset == 0 || sectionHeaderOffset > (ulong)data.Length - ElfConstants.SectionHeaderSize)
            throw new BpfFormatException($"section headers at 0x{sectionHeaderOffset:x} lie outside the file ({data.Length} bytes)", path, null, 40);

        // Extended numbering: with 0xff00 or more sections the real count and name-table index live in section 0.
        var first = data.Slice((int)sectionHeaderOffset, ElfConstants.SectionHeaderSize);
        if (count == 0)
        {
            ulong real = BinaryPrimitives.ReadUInt64LittleEndian(first.Slice(32));
            count = real > int.MaxValue ? uint.MaxValue : (uint)real;
        }
        if (names == ElfConstants.SectionExtendedIndex)
            names = BinaryPrimitives.ReadUInt32LittleEndian(first.Slice(40));

        ulong tableBytes = (ulong)count * ElfConstants.SectionHeaderSize;
        if (count == 0 || tableBytes > (ulong)data.Length - sectionHeaderOffset)
            throw new BpfFormatException($"{count} section headers at 0x{sectionHeaderOffset:x} do not fit in the file ({data.Length} bytes)", path, null, 60);
        if (names == 0 || names >= count)
            throw new BpfFormatException($"section name table index {names} out of range ({count} sections)", path, null, 62);

        sectionCount = (int)count;
        namesIndex = (int)names;
    }

    private static ElfSection ReadSectionHeader(ReadOnlySpan<byte> h, int index, int fileLength, string path, ulong tableOffset)
    {
        var type = (ElfSectionType)BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(4));
        var flags = (ElfSectionFlags)BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(8));
        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(24));
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(32));
        uint link = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(40));
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(h.Slice(44));
        ulong align = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(48));
        ulong entrySize = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(56));

        var header = new ElfSection(index, "", type, flags, offset, size, link, info, align, entrySize);
        if (HasFileData(header) && (offset > (ulong)fileLength || size > (ulong)fileLength - offset))
        {
            throw new BpfFormatException(
                $"section {index} data [0x{offset:x}, +0x{size:x}) lies outside the file ({fileLength} bytes)",
                path, $"section {index}", (long)tableOffset + index * ElfConstants.SectionHeaderSize);
        }
        if (type == ElfSectionType.NoBits && size > int.MaxValue)
            throw new BpfFormatException($"section {index} NOBITS size 0x{size:x} is too large", path, $"section {index}", (long)tableOffset + index * ElfConstants.SectionHeaderSize);
        return header;
    }

    private static ElfSymbol[] ReadSymbols(ReadOnlySpan<byte> data, ElfSection[] sections, int symtabIndex, string path)
    {
        var symtab = sections[symtabIndex];
        if (symtab.EntrySize != ElfConstants.SymbolSize)
            throw new BpfFormatException($"symbol entry size {symtab.EntrySize}, expected {ElfConstants.SymbolSize}", path, symtab.Name, (long)symtab.Offset);
        if (symtab.Size % ElfConstants.SymbolSize != 0)
            throw new BpfFormatException($"symbol table size {symtab.Size} is not a multiple of {ElfConstants.SymbolSize}", path, symtab.Name, (long)symtab.Offset);
        if (symtab.Link == 0 || symtab.Link >= (uint)sections.Length || sections[symtab.Link].Type != ElfSectionType.StringTable)
            throw new BpfFormatException($"symbol table links to section {symtab.Link}, which is not a string table", path, symtab.Name, (long)symtab.Offset);

        var strings = sections[symtab.Link];
        var stringBytes = data.Slice((int)strings.Offset, (int)strings.Size);
        var table = data.Slice((int)symtab.Offset, (int)symtab.Size);
        var symbols = new ElfSymbol[table.Length / ElfConstants.SymbolSize];
        for (int i = 0; i < symbols.Length; i++)
        {
            var s = table.Slice(i * ElfConstants.SymbolSize, ElfConstants.SymbolSize);
            long where = (long)symtab.Offset + i * ElfConstants.SymbolSize;
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(s);
            byte info = s[4];
            byte other = s[5];
            ushort sectionIndex = BinaryPrimitives.ReadUInt16LittleEndian(s.Slice(6));
            ulong value = BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(8));
            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(s.Slice(16));

            if (sectionIndex == ElfConstants.SectionExtendedIndex)
                throw new BpfFormatException($"symbol {i} uses an extended section index (not supported)", path, symtab.Name, where);
            if (sectionIndex != ElfConstants.SectionUndefined && sectionIndex < ElfConstants.SectionLoReserve && sectionIndex >= sections.Length)
                throw new BpfFormatException($"symbol {i} is in section {sectionIndex}, past the last section ({sections.Length - 1})", path, symtab.Name, where);

            string name = ReadString(stringBytes, nameOffset, path, strings.Name, (long)strings.Offset, $"name of symbol {i}");
            symbols[i] = new ElfSymbol(i, name, value, size, info, other, sectionIndex);
        }
        return symbols;
    }

    /// <summary>A NUL-terminated string at <paramref name="offset"/> inside a string table.</summary>
    private static string ReadString(ReadOnlySpan<byte> table, uint offset, string path, string section, long sectionOffset, string what)
    {
        if (offset >= (uint)table.Length)
        {
            if (offset == 0) return "";
            throw new BpfFormatException($"{what}: string offset {offset} is past the end of the table ({table.Length} bytes)", path, section, sectionOffset + offset);
        }
        var rest = table.Slice((int)offset);
        int end = rest.IndexOf((byte)0);
        if (end < 0)
            throw new BpfFormatException($"{what}: string at offset {offset} is not NUL-terminated", path, section, sectionOffset + offset);
        return end == 0 ? "" : Encoding.UTF8.GetString(rest.Slice(0, end));
    }
}
