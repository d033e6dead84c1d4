using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Collections;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Loading;

internal sealed partial class ObjectParser
{
    /// <summary>libbpf's enum reloc_type, minus CO-RE (kept apart in .BTF.ext).</summary>
    private enum CodeRelocationKind { MapFd, GlobalData, ExternVariable, ExternFunction, SubprogramAddress, Call }

    /// <summary>
    /// One relocation of a function's instruction (libbpf's struct reloc_desc). <see cref="Target"/> is the map name for
    /// MapFd/GlobalData; <see cref="SymbolOffset"/> the symbol's value in bytes; <see cref="Extern"/> the extern.
    /// </summary>
    private readonly record struct CodeRelocation(int Index, CodeRelocationKind Kind, string? Target, ulong SymbolOffset, ExternSymbol? Extern);

    /// <summary>A code relocation at its instruction in the linked program (not a ValueTuple: see <see cref="ValueList{T}"/>).</summary>
    private readonly record struct LinkedRelocation(int Index, CodeRelocation Relocation);

    /// <summary>Collects code relocations, then links every entry point (libbpf's bpf_object__relocate without data).</summary>
    private OrderedDictionary<string, ProgramSpec> BuildPrograms()
    {
        for (int i = 1; i < _roles.Length; i++)
        {
            if (_roles[i] == SectionRole.ProgramRelocations) CollectCodeRelocations(_elf.SectionArray[i]);
        }
        foreach (var f in _functions)
        {
            f.Relocations.Sort((a, b) => a.Index.CompareTo(b.Index));
            // Mark callback address loads so the linker recognises them (libbpf does this before relocating calls).
            foreach (var r in f.Relocations)
            {
                if (r.Kind == CodeRelocationKind.SubprogramAddress) f.Instructions[r.Index].Src = BpfPseudo.Func;
            }
        }

        var programs = new OrderedDictionary<string, ProgramSpec>(StringComparer.Ordinal);
        foreach (var f in _functions)
        {
            if (f.IsSubprogram) continue;
            var program = Link(f);
            if (!programs.TryAdd(program.Name, program))
                throw _elf.Error($"two programs are named '{program.Name}'", f.SectionName);
        }
        return programs;
    }

    /// <summary>libbpf's bpf_object__collect_prog_relos for one .rel&lt;section&gt;.</summary>
    private void CollectCodeRelocations(in ElfSection relSection)
    {
        var target = _elf.SectionArray[(int)relSection.Info];
        foreach (var rel in _elf.ReadRelocations(relSection))
        {
            var sym = _elf.GetSymbol(rel.SymbolIndex, relSection.Name, rel.EntryOffset);
            if (sym.SectionIndex >= _elf.SectionArray.Length && sym.SectionIndex != ElfConstants.SectionUndefined)
                throw _elf.Error($"relocation against '{sym.Name}' in special section 0x{sym.SectionIndex:x} (forgot to initialise a global variable?)", relSection.Name, rel.EntryOffset);
            if (rel.Offset % InstructionSize != 0)
                throw _elf.Error($"relocation offset 0x{rel.Offset:x} is not on an instruction", relSection.Name, rel.EntryOffset);
            int index = (int)(rel.Offset / InstructionSize);
            // Relocations against static functions name the section; show its name.
            string symbolName = sym.Type == ElfSymbolType.Section && sym.Name.Length == 0 && sym.IsInSection
                ? _elf.SectionArray[sym.SectionIndex].Name : sym.Name;
            var function = FindFunction(target.Index, index);
            if (function is null) continue; // libbpf: code outside any function (an overridden weak function)
            function.Relocations.Add(RecordRelocation(function, index - function.SectionInstructionOffset, symbolName, sym, relSection, rel));
        }
    }

    /// <summary>libbpf's bpf_program__record_reloc: what an instruction's relocation refers to.</summary>
    private CodeRelocation RecordRelocation(Function f, int index, string symbolName, ElfSymbol sym, ElfSection relSection, ElfRelocation rel)
    {
        var insn = f.Instructions[index];
        BpfFormatException Fail(string message) => _elf.Error($"program '{f.Name}': instruction #{index}: {message}", relSection.Name, rel.EntryOffset);

        if (!insn.IsCall && !insn.IsLoadImm64)
            throw Fail($"relocation against '{symbolName}' on an instruction with opcode 0x{insn.OpCode:x2} (not a call or ld_imm64)");
        if (insn.IsLoadImm64 && index + 1 >= f.Instructions.Length)
            throw Fail("ld_imm64 is missing its second half");

        if (IsExtern(sym))
        {
            var ext = _externs.FirstOrDefault(e => e.SymbolIndex == sym.Index)
                ?? throw Fail($"extern '{symbolName}' has no BTF description");
            return new CodeRelocation(index, insn.IsCall ? CodeRelocationKind.ExternFunction : CodeRelocationKind.ExternVariable, ext.Name, 0, ext);
        }

        if (insn.IsCall)
        {
            if (insn.Src != BpfPseudo.Call)
                throw Fail($"relocation against '{symbolName}' on a call that is not a BPF-to-BPF call (src_reg {insn.Src})");
            if (sym.SectionIndex == ElfConstants.SectionUndefined || sym.SectionIndex != _textIndex)
                throw Fail($"call to '{symbolName}' in section '{SectionNameOf(sym)}': subprograms must be in .text");
            if (sym.Value % InstructionSize != 0)
                throw Fail($"call to '{symbolName}' at byte offset {sym.Value}, not on an instruction");
            return new CodeRelocation(index, CodeRelocationKind.Call, null, sym.Value, null);
        }

        if (!sym.IsInSection)
            throw Fail($"relocation against '{symbolName}' in special section 0x{sym.SectionIndex:x} (forgot to initialise a global variable?)");

        if (IsSubprogramSymbol(sym))
        {
            if (sym.Value % InstructionSize != 0 || insn.Immediate % InstructionSize != 0)
                throw Fail($"address of '{symbolName}' at {sym.Value}+{insn.Immediate} is not on an instruction");
            return new CodeRelocation(index, CodeRelocationKind.SubprogramAddress, null, sym.Value, null);
        }

        if (_dataMapsBySection.TryGetValue(sym.SectionIndex, out var dataMap))
            return new CodeRelocation(index, CodeRelocationKind.GlobalData, dataMap, sym.Value, null);

        if (sym.SectionIndex == _btfMapsIndex)
        {
            var slot = BtfMapSlotAt(sym.Value);
            if (slot.Map is null) throw Fail($"no map at .maps offset {sym.Value} for '{symbolName}'");
            return new CodeRelocation(index, CodeRelocationKind.MapFd, slot.Map.Name, 0, null);
        }

        if (sym.SectionIndex == _legacyMapsIndex)
        {
            if (!_legacyMapsByOffset.TryGetValue(sym.Value, out var legacy))
                throw Fail($"no map at 'maps' offset {sym.Value} for '{symbolName}'");
            return new CodeRelocation(index, CodeRelocationKind.MapFd, legacy, 0, null);
        }

        throw Fail($"relocation against '{symbolName}' in section '{SectionNameOf(sym)}', which holds no map, global data or code");
    }

    /// <summary>libbpf's sym_is_subprog: a static function (section symbol) or global function in .text.</summary>
    private bool IsSubprogramSymbol(in ElfSymbol sym) =>
        sym.SectionIndex == _textIndex
        && ((sym.Binding == ElfSymbolBinding.Local && sym.Type == ElfSymbolType.Section)
            || (sym.Binding == ElfSymbolBinding.Global && sym.Type == ElfSymbolType.Func));

    private string SectionNameOf(in ElfSymbol sym) => sym.IsInSection ? _elf.SectionArray[sym.SectionIndex].Name : "<none>";

    /// <summary>Everything gathered for one entry point while its code is linked.</summary>
    private sealed class LinkedProgram(BpfInstruction[] entry)
    {
        /// <summary>
        /// The linked code so far, <see cref="Length"/> instructions of it. It starts as the entry point's own array: an entry
        /// point is linked exactly once and nothing reads its array afterwards, so it needs no copy unless subprograms are
        /// appended.
        /// </summary>
        public BpfInstruction[] Code = entry;
        public int Length = entry.Length;
        /// <summary>Subprograms appended to this entry point, whose <see cref="Function.AppendedAt"/> is reset afterwards.</summary>
        public readonly List<Function> Appended = new();
        public readonly ValueList<LinkedRelocation> Relocations = new();
        // Sized as records are found (exactly, for records in instruction order), so the spec takes the arrays without a copy.
        public readonly ValueList<BtfFuncInfo> FuncInfos = new();
        public readonly ValueList<BtfLineInfo> LineInfos = new();
        public readonly ValueList<CoreRelocation> CoreRelocations = new();
        public bool HasFuncInfo, HasLineInfo;

        /// <summary>Appends a subprogram's code; returns where it starts.</summary>
        public int Append(BpfInstruction[] code)
        {
            int at = Length;
            if (Length + code.Length > Code.Length)
            {
                // Not Array.Resize<BpfInstruction> nor a range copy (GetSubArray) below: generic framework methods over a
                // core struct, JIT-compiled at the first load of a session.
                var grown = new BpfInstruction[Math.Max(Code.Length * 2, Length + code.Length)];
                Array.Copy(Code, grown, Length);
                Code = grown;
            }
            code.CopyTo(Code, Length);
            Length += code.Length;
            return at;
        }

        public BpfInstruction[] ToArray()
        {
            if (Length == Code.Length) return Code;
            var exact = new BpfInstruction[Length];
            Array.Copy(Code, exact, Length);
            return exact;
        }
    }

    /// <summary>Links an entry point with its subprograms and describes what is left for the loader.</summary>
    private ProgramSpec Link(Function main)
    {
        var linked = new LinkedProgram(main.Instructions);
        AddRelocations(linked, main, 0);
        try
        {
            LinkCode(linked, main, main, 0, 0);
        }
        finally
        {
            foreach (var f in linked.Appended) f.AppendedAt = 0;
        }

        string section = main.SectionName.StartsWith('?') ? main.SectionName[1..] : main.SectionName;
        var definition = SectionDefinitions.Resolve(section, main.Name, _path);
        var code = linked.ToArray();
        return new ProgramSpec
        {
            Name = main.Name,
            SectionName = section,
            AutoLoad = !main.SectionName.StartsWith('?'), // libbpf: SEC("?...") starts with autoload off
            Type = definition.ProgramType,
            ExpectedAttachType = definition.ExpectedAttachType,
            AttachTo = definition.AttachTargetOf(section),
            Flags = definition.ProgramFlags,
            License = _license,
            KernelVersion = _kernelVersion,
            Instructions = code,
            FuncInfoArray = linked.FuncInfos.DrainToArray(),
            LineInfoArray = linked.LineInfos.DrainToArray(),
            CoreRelocationArray = linked.CoreRelocations.DrainToArray(),
            ReferenceArray = BuildReferences(linked, code),
        };
    }

    private static void AddRelocations(LinkedProgram linked, Function f, int start)
    {
        foreach (var r in f.Relocations) linked.Relocations.Add(new LinkedRelocation(start + r.Index, r));
    }

    /// <summary>
    /// libbpf's bpf_object__reloc_code: scan the function's instructions in the growing program; the first call (or
    /// callback address) to a subprogram not yet in this program appends it at the end and links it at once, depth
    /// first; then the call's imm becomes the distance to where the subprogram landed.
    /// </summary>
    private void LinkCode(LinkedProgram linked, Function main, Function f, int start, int depth)
    {
        if (depth > _functions.Count)
            throw _elf.Error($"program '{main.Name}': subprogram calls nest deeper than the object has functions", f.SectionName);
        MoveExtInfo(linked, main, f, start);

        for (int i = 0; i < f.Instructions.Length; i++)
        {
            var insn = linked.Code[start + i];
            bool isCall = insn.OpCode == BpfOpCodes.Call && insn.Src == BpfPseudo.Call && insn.Dst == 0 && insn.Offset == 0;
            bool isCallback = insn.IsLoadImm64 && insn.Src == BpfPseudo.Func;
            if (!isCall && !isCallback) continue;

            var relocation = FindRelocation(f, i);
            if (relocation?.Kind == CodeRelocationKind.ExternFunction) continue; // a kfunc: the loader resolves it
            long target;
            if (relocation is { } r)
            {
                if (r.Kind == CodeRelocationKind.Call)
                    target = (long)(r.SymbolOffset / InstructionSize) + insn.Immediate + 1;
                else if (r.Kind == CodeRelocationKind.SubprogramAddress)
                    target = ((long)r.SymbolOffset + insn.Immediate) / InstructionSize;
                else
                    throw _elf.Error($"program '{f.Name}': instruction #{i}: unexpected {r.Kind} relocation on a call", f.SectionName, (long)(f.SectionInstructionOffset + i) * InstructionSize);
            }
            else if (isCallback)
            {
                throw _elf.Error($"program '{f.Name}': instruction #{i}: function address without a relocation", f.SectionName, (long)(f.SectionInstructionOffset + i) * InstructionSize);
            }
            else
            {
                // A call within the same section needs no relocation: imm is already relative to the call.
                target = f.SectionInstructionOffset + i + insn.Immediate + 1;
            }

            var callee = target is >= 0 and <= int.MaxValue && _textIndex >= 0 ? FindFunction(_textIndex, (int)target) : null;
            if (callee is null || !callee.IsSubprogram)
                throw _elf.Error($"program '{f.Name}': instruction #{i} calls .text instruction {target}, which starts no subprogram", f.SectionName, (long)(f.SectionInstructionOffset + i) * InstructionSize);

            if (callee.AppendedAt == 0)
            {
                callee.AppendedAt = linked.Append(callee.Instructions); // may replace linked.Code: index it afresh below
                linked.Appended.Add(callee);
                AddRelocations(linked, callee, callee.AppendedAt);
                LinkCode(linked, main, callee, callee.AppendedAt, depth + 1);
            }
            ref var call = ref linked.Code[start + i];
            call.Immediate = callee.AppendedAt - (start + i) - 1;
        }
    }

    private static CodeRelocation? FindRelocation(Function f, int index)
    {
        int lo = 0, hi = f.Relocations.Count - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int at = f.Relocations[mid].Index;
            if (at == index) return f.Relocations[mid];
            if (at < index) lo = mid + 1; else hi = mid - 1;
        }
        return null;
    }

    /// <summary>
    /// libbpf's reloc_prog_func_and_line_info (+ the CO-RE records, which libbpf applies per function): the function's
    /// records move to where it now starts. When the entry point has no func_info (or line_info), none is kept; a
    /// subprogram without them while the entry point has them is an error, as in libbpf.
    /// </summary>
    private void MoveExtInfo(LinkedProgram linked, Function main, Function f, int start)
    {
        if (_btfExt is null) return;
        bool isMain = ReferenceEquals(main, f);
        _btfExt.TryGetSection(f.SectionName, out var records);
        var order = records is null ? default : OrderOf(records);
        int first = f.SectionInstructionOffset, end = first + f.Instructions.Length, shift = start - first;

        if (isMain || linked.HasFuncInfo)
        {
            int before = linked.FuncInfos.Count;
            if (records is not null)
            {
                var all = records.FuncInfoArray;
                var (from, to) = Window(all, order.FuncInfos, static r => r.InstructionOffset, first, end, linked.FuncInfos);
                for (int i = from; i < to; i++)
                {
                    var fi = all[i];
                    if (fi.InstructionOffset >= first && fi.InstructionOffset < end)
                        linked.FuncInfos.Add(fi with { InstructionOffset = fi.InstructionOffset + shift });
                }
            }
            if (linked.FuncInfos.Count > before) linked.HasFuncInfo = true;
            else if (!isMain)
                throw _elf.Error($"program '{main.Name}': subprogram '{f.Name}' has no func_info in .BTF.ext", ".BTF.ext");
        }

        if (isMain || linked.HasLineInfo)
        {
            int before = linked.LineInfos.Count;
            if (records is not null)
            {
                var all = records.LineInfoArray;
                var (from, to) = Window(all, order.LineInfos, static r => r.InstructionOffset, first, end, linked.LineInfos);
                for (int i = from; i < to; i++)
                {
                    var li = all[i];
                    if (li.InstructionOffset >= first && li.InstructionOffset < end)
                        linked.LineInfos.Add(li with { InstructionOffset = li.InstructionOffset + shift });
                }
            }
            if (linked.LineInfos.Count > before) linked.HasLineInfo = true;
            else if (!isMain)
                throw _elf.Error($"program '{main.Name}': subprogram '{f.Name}' has no line_info in .BTF.ext", ".BTF.ext");
        }

        if (records is not null)
        {
            var all = records.CoreRelocationArray;
            var (from, to) = Window(all, order.CoreRelocations, static r => r.InstructionOffset, first, end, linked.CoreRelocations);
            for (int i = from; i < to; i++)
            {
                var cr = all[i];
                if (cr.InstructionOffset >= first && cr.InstructionOffset < end)
                    linked.CoreRelocations.Add(cr with { InstructionOffset = cr.InstructionOffset + shift });
            }
        }
    }

    /// <summary>Whether each kind of a section's .BTF.ext records is in instruction order (clang writes them so).</summary>
    private readonly record struct ExtRecordOrder(bool FuncInfos, bool LineInfos, bool CoreRelocations);

    // Kept as flags (1 func_info, 2 line_info, 4 CO-RE in order): a Dictionary over the record struct was compiled by the
    // JIT at the first load of every session, one with int values is precompiled in the framework.
    private readonly Dictionary<string, int> _extRecordOrder = new(StringComparer.Ordinal);

    /// <summary>
    /// Checked once per section: then each function finds its records by binary search instead of every entry point
    /// scanning all of its section's records (quadratic when one section holds hundreds of programs).
    /// </summary>
    private ExtRecordOrder OrderOf(BtfExtSection records)
    {
        if (!_extRecordOrder.TryGetValue(records.SectionName, out int flags))
        {
            flags = (IsInOrder(records.FuncInfoArray, static r => r.InstructionOffset) ? 1 : 0)
                | (IsInOrder(records.LineInfoArray, static r => r.InstructionOffset) ? 2 : 0)
                | (IsInOrder(records.CoreRelocationArray, static r => r.InstructionOffset) ? 4 : 0);
            _extRecordOrder.Add(records.SectionName, flags);
        }
        return new ExtRecordOrder((flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
    }

    private static bool IsInOrder<T>(T[] records, Func<T, int> offsetOf)
    {
        for (int i = 1; i < records.Length; i++)
        {
            if (offsetOf(records[i]) < offsetOf(records[i - 1])) return false;
        }
        return true;
    }

    /// <summary>
    /// The records to scan for instructions [first, end): exactly those, found by binary search, when the records are in
    /// instruction order (and <paramref name="into"/> then grows by exactly that many); all of them otherwise.
    /// </summary>
    private static (int From, int To) Window<T>(T[] records, bool inOrder, Func<T, int> offsetOf, int first, int end,
        ValueList<T> into)
    {
        if (!inOrder) return (0, records.Length);
        int from = FirstAtOrAfter(records, offsetOf, first, 0);
        int to = FirstAtOrAfter(records, offsetOf, end, from);
        if (to > from) into.Capacity = into.Count + (to - from);
        return (from, to);
    }

    private static int FirstAtOrAfter<T>(T[] records, Func<T, int> offsetOf, int offset, int lo)
    {
        int hi = records.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (offsetOf(records[mid]) < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>The relocations the loader still has to apply (libbpf's bpf_object__relocate_data), by instruction index.</summary>
    private static InstructionReference[] BuildReferences(LinkedProgram linked, BpfInstruction[] code)
    {
        linked.Relocations.Sort(static (a, b) => a.Index.CompareTo(b.Index));
        var references = new ValueList<InstructionReference>(linked.Relocations.Count);
        foreach (var (index, r) in linked.Relocations)
        {
            switch (r.Kind)
            {
                case CodeRelocationKind.MapFd:
                    references.Add(new InstructionReference(index, ReferenceKind.MapFd, r.Target!, 0));
                    break;
                case CodeRelocationKind.GlobalData:
                    // A global symbol's value is its offset; a static one is the section symbol (value 0) with the offset in imm.
                    references.Add(new InstructionReference(index, ReferenceKind.MapValue, r.Target!, unchecked((uint)(code[index].Immediate + (long)r.SymbolOffset))));
                    break;
                case CodeRelocationKind.ExternVariable when r.Extern!.Kind == ExternKind.Kconfig:
                    references.Add(new InstructionReference(index, ReferenceKind.MapValue, KconfigSection, r.Extern.Offset));
                    break;
                case CodeRelocationKind.ExternVariable:
                    references.Add(new InstructionReference(index, ReferenceKind.KsymVariable, r.Extern!.Name, 0));
                    break;
                case CodeRelocationKind.ExternFunction:
                    references.Add(new InstructionReference(index, ReferenceKind.KsymFunction, r.Extern!.Name, 0));
                    break;
            }
        }
        return references.DrainToArray();
    }
}
