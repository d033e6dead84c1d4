using BpfPS.Core.Btf;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Loading;

internal sealed partial class ObjectParser
{
    // Symbol indexes, not the symbols: a Dictionary over ElfSymbol was JIT-compiled at the first parse of every session
    // (ReadyToRun cannot precompile framework generics over the core's structs); one with int values is the framework's.
    private Dictionary<string, int>? _globalObjects;

    /// <summary>
    /// libbpf's bpf_object_fixup_btf plus the FUNC linkage change it makes before BPF_BTF_LOAD: clang leaves DATASEC sizes
    /// and VAR offsets zero, so they come from the ELF section sizes and symbol values; hidden globals become static.
    /// Then the edited copy is parsed as the spec the rest of the parse (and the kernel) sees, and .BTF.ext with it.
    /// </summary>
    private void FixUpBtf()
    {
        if (_btfEditor is null) return;
        for (uint id = 1; id <= (uint)_btfEditor.Count; id++)
        {
            if (_btfEditor.Kind(id) == BtfKind.Datasec) FixUpDatasec(id);
        }
        MarkHiddenSubprogramsStatic();

        var fixedBytes = _btfEditor.ToArray();
        _btf = WithFile(() => BtfSpec.Parse(fixedBytes, _path + ":.BTF"));
        if (_btfExtIndex >= 0)
        {
            var ext = _elf.GetData(_elf.SectionArray[_btfExtIndex]);
            _btfExt = WithFile(() => BtfExt.Parse(ext.Span, _btf, _path + ":.BTF.ext"), ".BTF.ext");
        }
    }

    /// <summary>libbpf's btf_fixup_datasec.</summary>
    private void FixUpDatasec(uint id)
    {
        var editor = _btfEditor!;
        string name = editor.Name(id);
        if (name is KconfigSection or KsymsSection)
        {
            // Laid out already with the externs; not every extern VAR has an ELF symbol.
            editor.SortSecInfos(id);
            return;
        }

        bool fixOffsets = false;
        if (editor.SizeOrType(id) == 0)
        {
            if (!_elf.TryGetSection(name, out var section) || section.Size == 0)
                throw _elf.Error($"BTF DATASEC '{name}' (type {id}) has size 0 and no ELF section to take its size from", ".BTF");
            editor.SetSizeOrType(id, (uint)section.Size);
            fixOffsets = true;
        }

        for (int i = 0; i < editor.Vlen(id); i++)
        {
            var (varId, _, size) = editor.SecInfo(id, i);
            if (varId == 0 || varId > (uint)editor.Count || editor.Kind(varId) != BtfKind.Var)
                throw _elf.Error($"BTF DATASEC '{name}' entry {i} (type {varId}) is not a VAR", ".BTF");
            var linkage = editor.VarLinkage(varId);
            if (linkage is BtfLinkage.Static or BtfLinkage.Extern) continue;

            string varName = editor.Name(varId);
            if (!TryGetGlobalObjectSymbol(varName, out var sym))
                throw _elf.Error($"BTF DATASEC '{name}': no ELF symbol for variable '{varName}'", ".symtab");
            if (fixOffsets)
                editor.SetSecInfo(id, i, varId, (uint)sym.Value, size);
            // A global with hidden visibility is static for the kernel (and keeps its map from being mmapable).
            if (sym.Visibility is ElfSymbolVisibility.Hidden or ElfSymbolVisibility.Internal)
                editor.SetVarLinkage(varId, BtfLinkage.Static);
        }
        editor.SortSecInfos(id);
    }

    /// <summary>Global or weak STT_OBJECT symbols by name, first one wins (libbpf's find_elf_var_sym).</summary>
    private bool TryGetGlobalObjectSymbol(string name, out ElfSymbol symbol)
    {
        if (_globalObjects is null)
        {
            var symbols = _elf.SymbolArray;
            _globalObjects = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < symbols.Length; i++)
            {
                ref readonly var sym = ref symbols[i];
                if (sym.Type == ElfSymbolType.Object && sym.Binding is ElfSymbolBinding.Global or ElfSymbolBinding.Weak)
                    _globalObjects.TryAdd(sym.Name, i);
            }
        }
        if (_globalObjects.TryGetValue(name, out int index))
        {
            symbol = _elf.SymbolArray[index];
            return true;
        }
        symbol = default;
        return false;
    }

    /// <summary>
    /// Subprograms that are global but hidden get a static BTF FUNC, so the verifier checks them in their callers'
    /// context (libbpf's mark_btf_static, applied in bpf_object__sanitize_and_load_btf).
    /// </summary>
    private void MarkHiddenSubprogramsStatic()
    {
        var editor = _btfEditor!;
        foreach (var f in _functions)
        {
            if (!f.MarkBtfStatic || !f.IsSubprogram) continue;
            for (uint id = 1; id <= (uint)editor.Count; id++)
            {
                if (editor.Kind(id) != BtfKind.Func || (BtfLinkage)editor.Vlen(id) != BtfLinkage.Global) continue;
                if (editor.Name(id) != f.Name) continue;
                editor.SetFuncLinkage(id, BtfLinkage.Static);
                break;
            }
        }
    }
}
