using BpfPS.Core.Btf;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Loading;

internal sealed partial class ObjectParser
{
    private const string KconfigSection = ".kconfig";
    private const string KsymsSection = ".ksyms";

    /// <summary>Externs in libbpf's order: kconfig first (by alignment descending, size ascending, name), then ksyms by name.</summary>
    private readonly List<ExternSymbol> _externs = new();
    private ObjectBtfEditor? _btfEditor;

    /// <summary>
    /// libbpf's bpf_object__collect_externs: finds undefined global symbols, types them through BTF, lays out .kconfig,
    /// and rewrites the .ksyms and .kconfig DATASECs the way the kernel must see them.
    /// </summary>
    private void CollectExterns()
    {
        if (_rawBtf is not null)
            _btfEditor = ObjectBtfEditor.Create(_elf.GetData(_elf.SectionArray[_btfIndex]).Span, _path);
        uint dummyVar = AddDummyKsymVar();

        var symtab = _elf.SectionArray[_elf.SymbolTableIndex];
        foreach (var sym in _elf.SymbolArray)
        {
            if (!IsExtern(sym) || sym.Name.Length == 0) continue;
            long where = (long)symtab.Offset + (long)sym.Index * ElfConstants.SymbolSize;
            if (_rawBtf is null)
                throw _elf.Error($"extern '{sym.Name}' needs BTF to be typed, and the object has no .BTF", symtab.Name, where);

            uint btfId = FindExternBtfId(sym.Name, where);
            var type = _rawBtf.GetType(btfId);
            uint datasecId = FindDatasecOf(btfId)
                ?? throw _elf.Error($"extern '{sym.Name}' (BTF type {btfId}) is in no DATASEC", ".BTF");
            string datasecName = _rawBtf.GetName(datasecId);
            var ext = new ExternSymbol(type.Name, sym.Index, btfId, sym.IsWeak);

            if (datasecName == KconfigSection)
            {
                if (type is not BtfVar var)
                    throw _elf.Error($"extern function '{ext.Name}' is not allowed in {KconfigSection}", ".BTF");
                ext.Kind = ExternKind.Kconfig;
                ext.TypeId = var.TypeId;
                ext.Size = WithFile(() => _rawBtf.SizeOf(var.TypeId));
                ext.Alignment = AlignOf(var.TypeId, 0);
                if (ext.Size == 0 || ext.Alignment == 0)
                    throw _elf.Error($"kconfig extern '{ext.Name}': cannot determine its size or alignment", ".BTF");
                if (!IsKconfigType(var.TypeId, allowArray: true))
                    throw _elf.Error($"kconfig extern '{ext.Name}': type is unsupported (use bool, char, an integer of 1/2/4/8 bytes, enum libbpf_tristate or a char array)", ".BTF");
            }
            else if (datasecName == KsymsSection)
            {
                ext.Kind = ExternKind.Ksym;
                ext.IsFunction = type is BtfFunc;
                // Typeless ksyms ("extern const void x __ksym") resolve to 0 here and are looked up in kallsyms.
                uint declared = type is BtfFunc f ? f.ProtoTypeId : ((BtfVar)type).TypeId;
                ext.TypeId = WithFile(() => _rawBtf.SkipModsAndTypedefs(declared));
            }
            else
            {
                throw _elf.Error($"extern '{ext.Name}' is in unrecognised section '{datasecName}' (expected {KconfigSection} or {KsymsSection})", ".BTF");
            }
            _externs.Add(ext);
        }
        if (_externs.Count == 0) return;

        _externs.Sort(CompareExterns);
        if (_externs.Any(e => e.Kind == ExternKind.Ksym)) RewriteKsymsDatasec(dummyVar);
        if (_externs.Any(e => e.Kind == ExternKind.Kconfig)) LayOutKconfig();
    }

    /// <summary>libbpf's sym_is_extern: undefined, global or weak, no type.</summary>
    private static bool IsExtern(in ElfSymbol sym) =>
        sym.SectionIndex == ElfConstants.SectionUndefined
        && sym.Binding is ElfSymbolBinding.Global or ElfSymbolBinding.Weak
        && sym.Type == ElfSymbolType.NoType;

    private static int CompareExterns(ExternSymbol a, ExternSymbol b)
    {
        if (a.Kind != b.Kind) return a.Kind == ExternKind.Kconfig ? -1 : 1;
        if (a.Kind == ExternKind.Kconfig)
        {
            if (a.Alignment != b.Alignment) return b.Alignment.CompareTo(a.Alignment);
            if (a.Size != b.Size) return a.Size.CompareTo(b.Size);
        }
        return string.CompareOrdinal(a.Name, b.Name);
    }

    /// <summary>The first VAR or FUNC with this name; it must be declared extern.</summary>
    private uint FindExternBtfId(string name, long where)
    {
        uint best = 0;
        foreach (uint id in _rawBtf!.FindByName(name))
        {
            var kind = _rawBtf.GetKind(id);
            if (kind is BtfKind.Var or BtfKind.Func && (best == 0 || id < best)) best = id;
        }
        if (best == 0)
            throw _elf.Error($"extern '{name}' has no BTF VAR or FUNC", ".symtab", where);
        var linkage = _rawBtf.GetType(best) switch { BtfVar v => v.Linkage, BtfFunc f => f.Linkage, _ => BtfLinkage.Static };
        if (linkage != BtfLinkage.Extern)
            throw _elf.Error($"extern '{name}': its BTF {_rawBtf.GetKind(best)} (type {best}) is not declared extern", ".BTF");
        return best;
    }

    /// <summary>The first DATASEC listing <paramref name="typeId"/>.</summary>
    private uint? FindDatasecOf(uint typeId)
    {
        for (uint id = _rawBtf!.FirstTypeId; id < _rawBtf.NextTypeId; id++)
        {
            if (_rawBtf.GetKind(id) != BtfKind.Datasec) continue;
            foreach (var v in ((BtfDatasec)_rawBtf.GetType(id)).VariableArray)
            {
                if (v.TypeId == typeId) return id;
            }
        }
        return null;
    }

    /// <summary>
    /// libbpf's add_dummy_ksym_var: when .ksyms lists a function, a "dummy_ksym" int VAR is appended; the functions'
    /// DATASEC entries will point at it, because the kernel accepts only VARs in a DATASEC.
    /// </summary>
    private uint AddDummyKsymVar()
    {
        if (_rawBtf is null || _btfEditor is null) return 0;
        uint? ksyms = FirstOfKind(KsymsSection, BtfKind.Datasec);
        if (ksyms is null) return 0;
        var sec = (BtfDatasec)_rawBtf.GetType(ksyms.Value);
        bool anyFunction = false;
        foreach (var v in sec.VariableArray)
        {
            if (_rawBtf.GetKind(v.TypeId) == BtfKind.Func) { anyFunction = true; break; }
        }
        if (!anyFunction) return 0;
        return _btfEditor.AddVar("dummy_ksym", BtfLinkage.Global, FirstInt32());
    }

    /// <summary>
    /// libbpf's .ksyms rewrite: every entry becomes a 4-byte allocated int VAR at offset 4*i; extern functions keep their
    /// FUNC (made global, with unnamed parameters named after the dummy) but the DATASEC points at the dummy VAR.
    /// </summary>
    private void RewriteKsymsDatasec(uint dummyVar)
    {
        var editor = _btfEditor!;
        uint sec = FirstOfKind(KsymsSection, BtfKind.Datasec)!.Value;
        uint intId = FirstInt32();
        uint dummyName = dummyVar == 0 ? 0 : editor.NameOffset(dummyVar);
        int n = editor.Vlen(sec);
        for (int i = 0; i < n; i++)
        {
            var (typeId, _, _) = editor.SecInfo(sec, i);
            string name = editor.Name(typeId);
            if (!_externs.Any(e => e.Name == name))
                throw _elf.Error($"{KsymsSection} lists '{name}' but no extern symbol declares it", ".BTF");
            uint varType = typeId;
            if (editor.Kind(typeId) == BtfKind.Func)
            {
                uint proto = editor.SizeOrType(typeId);
                for (int p = 0; p < editor.Vlen(proto); p++)
                {
                    var (paramName, paramType) = editor.Parameter(proto, p);
                    if (paramType != 0 && paramName == 0) editor.SetParameterName(proto, p, dummyName);
                }
                varType = dummyVar;
                editor.SetFuncLinkage(typeId, BtfLinkage.Global);
            }
            else
            {
                editor.SetVarLinkage(typeId, BtfLinkage.Global);
                editor.SetSizeOrType(typeId, intId);
            }
            editor.SetSecInfo(sec, i, varType, (uint)(i * 4), 4);
        }
        editor.SetSizeOrType(sec, (uint)(n * 4));
    }

    /// <summary>libbpf's .kconfig layout: each extern aligned in sorted order; the DATASEC gets those offsets.</summary>
    private void LayOutKconfig()
    {
        uint offset = 0;
        foreach (var e in _externs)
        {
            if (e.Kind != ExternKind.Kconfig) continue;
            e.Offset = (offset + e.Alignment - 1) / e.Alignment * e.Alignment;
            offset = e.Offset + e.Size;
        }
        var editor = _btfEditor!;
        uint sec = FirstOfKind(KconfigSection, BtfKind.Datasec)!.Value;
        editor.SetSizeOrType(sec, offset);
        for (int i = 0; i < editor.Vlen(sec); i++)
        {
            var (typeId, _, size) = editor.SecInfo(sec, i);
            string name = editor.Name(typeId);
            var ext = _externs.FirstOrDefault(e => e.Name == name)
                ?? throw _elf.Error($"{KconfigSection} lists '{name}' but no extern symbol declares it", ".BTF");
            editor.SetVarLinkage(typeId, BtfLinkage.Global);
            editor.SetSecInfo(sec, i, typeId, ext.Offset, size);
        }
    }

    /// <summary>libbpf's find_kcfg_type: bool, char, 1/2/4/8-byte ints, enum libbpf_tristate, arrays of char.</summary>
    private bool IsKconfigType(uint typeId, bool allowArray)
    {
        var t = _rawBtf!.GetType(WithFile(() => _rawBtf.SkipModsAndTypedefs(typeId)));
        switch (t)
        {
            case BtfInt i:
                if ((i.Encoding & BtfIntEncoding.Bool) != 0) return i.ByteSize == 1;
                return i.ByteSize is 1 or 2 or 4 or 8;
            case BtfEnum e:
                return e.Name == "libbpf_tristate" && (e.Is64 || e.ByteSize == 4);
            case BtfArray a when allowArray:
                return a.Count > 0 && IsKconfigChar(a.ElementTypeId);
            default:
                return false;
        }
    }

    private bool IsKconfigChar(uint typeId) =>
        _rawBtf!.GetType(WithFile(() => _rawBtf.SkipModsAndTypedefs(typeId))) is BtfInt { ByteSize: 1 } i
        && (i.Encoding & BtfIntEncoding.Bool) == 0;

    /// <summary>libbpf's btf__align_of (8-byte pointers, as for every BPF object).</summary>
    private uint AlignOf(uint typeId, int depth)
    {
        if (depth > 32) throw _elf.Error($"BTF type {typeId}: type chain too deep to align", ".BTF");
        switch (_rawBtf!.GetType(typeId))
        {
            case BtfInt i: return Math.Min(8u, i.ByteSize);
            case BtfEnum e: return Math.Min(8u, e.ByteSize);
            case BtfFloat f: return Math.Min(8u, f.ByteSize);
            case BtfReference { Kind: BtfKind.Pointer }: return 8;
            case BtfReference r: return AlignOf(r.TypeId, depth + 1);
            case BtfArray a: return AlignOf(a.ElementTypeId, depth + 1);
            case BtfComposite c:
                uint max = 1;
                foreach (var m in c.Members)
                {
                    uint align = AlignOf(m.TypeId, depth + 1);
                    if (align == 0) return 0;
                    if (m.BitfieldSize == 0 && m.BitOffset % (8 * align) != 0) return 1; // packed
                    max = Math.Max(max, align);
                }
                return c.ByteSize % max != 0 ? 1 : max;
            default:
                return 0;
        }
    }

    /// <summary>The first type of <paramref name="kind"/> named <paramref name="name"/> (libbpf's btf__find_by_name_kind).</summary>
    private uint? FirstOfKind(string name, BtfKind kind)
    {
        uint best = 0;
        foreach (uint id in _rawBtf!.FindByName(name))
        {
            if (_rawBtf.GetKind(id) == kind && (best == 0 || id < best)) best = id;
        }
        return best == 0 ? null : best;
    }

    /// <summary>libbpf's find_int_btf_id: the first INT of 32 bits (0 if none).</summary>
    private uint FirstInt32()
    {
        for (uint id = _rawBtf!.FirstTypeId; id < _rawBtf.NextTypeId; id++)
        {
            if (_rawBtf.GetKind(id) == BtfKind.Int && ((BtfInt)_rawBtf.GetType(id)).Bits == 32) return id;
        }
        return 0;
    }

    /// <summary>An extern as libbpf tracks it (struct extern_desc).</summary>
    private sealed class ExternSymbol(string name, int symbolIndex, uint btfId, bool isWeak)
    {
        public string Name { get; } = name;
        public int SymbolIndex { get; } = symbolIndex;
        public uint BtfId { get; } = btfId;
        public bool IsWeak { get; } = isWeak;
        public ExternKind Kind { get; set; }
        public bool IsFunction { get; set; }
        /// <summary>kconfig: the declared type; ksym: the type after modifiers (0 for a typeless ksym, the FUNC_PROTO for a kfunc).</summary>
        public uint TypeId { get; set; }
        public uint Size { get; set; }
        public uint Alignment { get; set; }
        /// <summary>kconfig: offset in the .kconfig map.</summary>
        public uint Offset { get; set; }

        public ExternSpec ToSpec() => new(Name, Kind, TypeId, IsWeak, Offset, Size);
    }
}
