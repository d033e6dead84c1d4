using System.Collections.Immutable;
using System.Text;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Elf;
using BpfPS.Core.Collections;

namespace BpfPS.Core.Loading;

/// <summary>
/// Turns an ELF object into a <see cref="CollectionSpec"/> the way libbpf 1.1's bpf_object__open does (read for facts,
/// not copied): functions become programs and subprograms, maps come from ".maps", the legacy "maps" section and
/// global data sections, externs from .kconfig/.ksyms, and the object's BTF gets libbpf's fix-ups. Then, as libbpf's
/// bpf_object__relocate does, every entry point is linked with the subprograms it calls, in libbpf's order, with its
/// func_info, line_info and CO-RE records moved to their final places. Map fds, externs and CO-RE are left for the
/// loader (<see cref="ProgramSpec.References"/>, <see cref="ProgramSpec.CoreRelocations"/>). Pure: no syscalls.
/// The steps follow libbpf's order because later ones read what earlier ones fixed (map parsing reads fixed-up
/// DATASEC offsets, for example).
/// </summary>
internal sealed partial class ObjectParser
{
    private const int InstructionSize = BpfInstructions.Size;

    private readonly ElfFile _elf;
    private readonly string _path;
    private readonly SectionRole[] _roles;
    private int _textIndex = -1;
    private int _btfMapsIndex = -1;
    private int _legacyMapsIndex = -1;
    private int _btfIndex = -1;
    private int _btfExtIndex = -1;
    private string _license = "";
    private uint _kernelVersion;

    /// <summary>Sorted like libbpf's obj->programs: by section index, then offset.</summary>
    private readonly List<Function> _functions = new();

    private BtfSpec? _rawBtf;       // as compiled: for lookups that the fix-ups do not touch
    private BtfSpec? _btf;          // after the fix-ups: what the kernel gets and what the rest reads
    private BtfExt? _btfExt;

    private ObjectParser(ElfFile elf)
    {
        _elf = elf;
        _path = elf.Path;
        _roles = new SectionRole[elf.SectionArray.Length];
    }

    /// <summary>Parses and links an object. Pure: no syscalls, no kernel BTF.</summary>
    /// <exception cref="BpfFormatException">Malformed or unsupported input, naming the file, section and offset.</exception>
    public static CollectionSpec Parse(ReadOnlyMemory<byte> elf, string path)
    {
        var parser = new ObjectParser(ElfFile.Parse(elf, path));
        try
        {
            return parser.Run();
        }
        catch (BpfFormatException e) when (e.File != path)
        {
            throw parser.NameThisFile(e);
        }
    }

    private CollectionSpec Run()
    {
        CollectSections();
        CollectExterns();
        FixUpBtf();
        CollectMaps();
        var programs = BuildPrograms();
        CollectMapInitialisers();
        CollectStructOpsFunctions(programs);

        return new CollectionSpec
        {
            Path = _path,
            Maps = _maps,
            Programs = programs,
            Btf = _btf,
            Externs = _externs.Select(e => e.ToSpec()).ToImmutableArray(),
            License = _license,
            KernelVersion = _kernelVersion,
        };
    }

    /// <summary>What libbpf makes of a section (its elf_sec_desc.sec_type, plus the kinds it keeps elsewhere).</summary>
    private enum SectionRole : byte { Ignored, Code, Data, ReadOnlyData, Bss, ProgramRelocations, MapRelocations }

    /// <summary>libbpf's bpf_object__elf_collect: classify sections, read license and version, find functions.</summary>
    private void CollectSections()
    {
        if (_elf.SymbolTableIndex == 0)
            throw _elf.Error("no symbol table (stripped object?)");

        var sections = _elf.SectionArray;
        for (int i = 1; i < sections.Length; i++)
        {
            var s = sections[i];
            if (IsIgnored(s)) continue;
            switch (s.Name)
            {
                case "license":
                    _license = ReadLicense(s);
                    continue;
                case "version":
                    _kernelVersion = ReadVersion(s);
                    continue;
                case "maps":
                    _legacyMapsIndex = i;
                    continue;
                case ".maps":
                    _btfMapsIndex = i;
                    continue;
                case ".BTF":
                case ".BTF.ext":
                    if (s.Type != ElfSectionType.ProgBits)
                        throw _elf.Error($"{s.Name} is {s.Type}, not PROGBITS", s.Name, (long)s.Offset);
                    if (s.Name == ".BTF") _btfIndex = i; else _btfExtIndex = i;
                    continue;
            }
            if (s.Type == ElfSectionType.SymbolTable) continue;
            if (s.Type == ElfSectionType.ProgBits && s.Size > 0)
            {
                if (s.IsExecutable)
                {
                    if (s.Name == ".text") _textIndex = i;
                    _roles[i] = SectionRole.Code;
                }
                else if (s.Name == ".data" || s.Name.StartsWith(".data.", StringComparison.Ordinal))
                    _roles[i] = SectionRole.Data;
                else if (s.Name == ".rodata" || s.Name.StartsWith(".rodata.", StringComparison.Ordinal))
                    _roles[i] = SectionRole.ReadOnlyData;
                // Anything else is skipped, as libbpf skips unrecognised data sections (.struct_ops* are read by CollectStructOpsMaps).
            }
            else if (s.Type == ElfSectionType.Rel)
            {
                if (s.EntrySize != ElfConstants.RelSize)
                    throw _elf.Error($"relocation entry size {s.EntrySize}, expected {ElfConstants.RelSize}", s.Name, (long)s.Offset);
                var target = _elf.GetSection(s.Info, "relocation target", s.Name, (long)s.Offset);
                if (target.IsExecutable) _roles[i] = SectionRole.ProgramRelocations;
                else if (target.Name == ".maps") _roles[i] = SectionRole.MapRelocations;
                // Relocations of other sections (DWARF, .BTF) are not needed.
            }
            else if (s.Type == ElfSectionType.NoBits && (s.Name == ".bss" || s.Name.StartsWith(".bss.", StringComparison.Ordinal)))
            {
                _roles[i] = SectionRole.Bss;
            }
        }

        // Functions after all sections are known (.text's index decides which local functions are allowed).
        for (int i = 1; i < sections.Length; i++)
        {
            if (_roles[i] == SectionRole.Code) AddFunctions(sections[i]);
        }
        _functions.Sort((a, b) => a.SectionIndex != b.SectionIndex
            ? a.SectionIndex.CompareTo(b.SectionIndex)
            : a.SectionInstructionOffset.CompareTo(b.SectionInstructionOffset));
        for (int i = 1; i < _functions.Count; i++)
        {
            var (a, b) = (_functions[i - 1], _functions[i]);
            if (a.SectionIndex == b.SectionIndex && a.SectionInstructionOffset + a.Instructions.Length > b.SectionInstructionOffset)
                throw _elf.Error($"functions '{a.Name}' and '{b.Name}' overlap", a.SectionName, (long)b.SectionInstructionOffset * InstructionSize);
        }
        foreach (var f in _functions)
            f.IsSubprogram = f.SectionIndex == _textIndex && _functions.Count > 1;

        ParseBtf();
    }

    /// <summary>libbpf's ignore_elf_section.</summary>
    private static bool IsIgnored(in ElfSection s)
    {
        if (s.Type is ElfSectionType.StringTable or ElfSectionType.LlvmAddrsig) return true;
        if (s.Type == ElfSectionType.ProgBits && s.Size == 0 && s.Name == ".text") return true;
        if (s.Name.StartsWith(".debug_", StringComparison.Ordinal)) return true;
        if (s.Name.StartsWith(".rel", StringComparison.Ordinal))
        {
            var target = s.Name.AsSpan(4);
            if (target.StartsWith(".debug_", StringComparison.Ordinal) || target.SequenceEqual(".BTF") || target.SequenceEqual(".BTF.ext"))
                return true;
        }
        return false;
    }

    /// <summary>The license string: up to the first NUL, at most 63 characters (libbpf keeps it in a 64-byte buffer).</summary>
    private string ReadLicense(in ElfSection s)
    {
        var data = _elf.GetData(s).Span;
        int end = data.IndexOf((byte)0);
        if (end < 0) end = data.Length;
        return Encoding.UTF8.GetString(data.Slice(0, Math.Min(end, 63)));
    }

    private uint ReadVersion(in ElfSection s)
    {
        var data = _elf.GetData(s).Span;   // empty for a NULL/NOBITS section, whatever its header's size says
        if (s.Size != 4 || data.Length != 4)
            throw _elf.Error($"version section is {data.Length} bytes, expected 4", s.Name, (long)s.Offset);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(data);
    }

    /// <summary>libbpf's bpf_object__add_programs: every STT_FUNC symbol in an executable section is a function.</summary>
    private void AddFunctions(in ElfSection section)
    {
        foreach (var sym in _elf.SymbolArray)
        {
            if (sym.SectionIndex != section.Index || sym.Type != ElfSymbolType.Func) continue;
            long where = (long)section.Offset + (long)Math.Min(sym.Value, section.Size);
            if (sym.Size == 0 || sym.Size % InstructionSize != 0 || sym.Value % InstructionSize != 0)
                throw _elf.Error($"function '{sym.Name}': bad offset {sym.Value} or size {sym.Size}", section.Name, where);
            if (sym.Value > section.Size || sym.Size > section.Size - sym.Value)
                throw _elf.Error($"function '{sym.Name}' at offset {sym.Value} (size {sym.Size}) crosses the section's end", section.Name, where);
            if (section.Index != _textIndex && sym.Binding == ElfSymbolBinding.Local)
                throw _elf.Error($"program '{sym.Name}' is static: entry points must be global (static functions belong in .text)", section.Name, where);

            var code = _elf.GetData(section).Span.Slice((int)sym.Value, (int)sym.Size);
            _functions.Add(new Function(
                sym.Name, section.Index, section.Name, (int)(sym.Value / InstructionSize),
                BpfInstructions.FromBytes(code, _path, section.Name))
            {
                // A global function with hidden visibility is verified like a static one: libbpf marks its BTF FUNC static.
                MarkBtfStatic = sym.Binding != ElfSymbolBinding.Local
                    && sym.Visibility is ElfSymbolVisibility.Hidden or ElfSymbolVisibility.Internal,
            });
        }
    }

    /// <summary>Decodes .BTF as compiled (the fix-ups come later, on a copy).</summary>
    private void ParseBtf()
    {
        if (_btfIndex < 0)
        {
            if (_btfMapsIndex >= 0)
                throw _elf.Error("BTF-defined maps (.maps) need a .BTF section, and there is none", ".maps");
            return;
        }
        var raw = _elf.GetData(_elf.SectionArray[_btfIndex]);
        _rawBtf = WithFile(() => BtfSpec.Parse(raw, _path + ":.BTF"));
    }

    /// <summary>The function of <paramref name="section"/> holding instruction <paramref name="index"/>, or null (libbpf's find_prog_by_sec_insn).</summary>
    private Function? FindFunction(int section, int index)
    {
        int lo = 0, hi = _functions.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            var f = _functions[mid];
            int cmp = f.SectionIndex != section ? f.SectionIndex.CompareTo(section)
                : index < f.SectionInstructionOffset ? 1
                : index >= f.SectionInstructionOffset + f.Instructions.Length ? -1 : 0;
            if (cmp == 0) return f;
            if (cmp < 0) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <summary>Runs a BTF reader (see <see cref="NameThisFile"/>; kept for call sites that read eagerly).</summary>
    private T WithFile<T>(Func<T> read, string elfSection = ".BTF")
    {
        try
        {
            return read();
        }
        catch (BpfFormatException e) when (e.File != _path)
        {
            throw NameThisFile(e, elfSection);
        }
    }

    /// <summary>
    /// BTF readers name their source ("x.o:.BTF") and decode lazily, so their errors can surface anywhere in the parse:
    /// they are rewritten to name this file, with the ELF section in front of the reader's own place.
    /// </summary>
    private BpfFormatException NameThisFile(BpfFormatException e, string? elfSection = null)
    {
        if (e.File == _path) return e;
        elfSection ??= e.File is not null && e.File.StartsWith(_path + ":", StringComparison.Ordinal) ? e.File[(_path.Length + 1)..] : ".BTF";
        string section = e.Section is null || e.Section == elfSection ? elfSection : $"{elfSection}: {e.Section}";
        return new BpfFormatException(e.Reason, _path, section, e.Offset, e);
    }

    /// <summary>One function of the object: an entry point, or a subprogram in .text (libbpf's struct bpf_program).</summary>
    private sealed class Function(string name, int sectionIndex, string sectionName, int sectionInstructionOffset, BpfInstruction[] instructions)
    {
        public string Name { get; } = name;
        public int SectionIndex { get; } = sectionIndex;
        public string SectionName { get; } = sectionName;
        /// <summary>Where the function starts in its section, in instructions.</summary>
        public int SectionInstructionOffset { get; } = sectionInstructionOffset;
        /// <summary>The function's own code (linking works on a copy per entry point).</summary>
        public BpfInstruction[] Instructions { get; } = instructions;
        public bool IsSubprogram { get; set; }
        public bool MarkBtfStatic { get; init; }
        /// <summary>Relocations by instruction index within the function, sorted.</summary>
        public ValueList<CodeRelocation> Relocations { get; } = new();
        /// <summary>Linking state: where this subprogram was appended in the entry point being linked (0 = not yet).</summary>
        public int AppendedAt { get; set; }

        public override string ToString() => $"{Name} ({SectionName}+{SectionInstructionOffset})";
    }
}
