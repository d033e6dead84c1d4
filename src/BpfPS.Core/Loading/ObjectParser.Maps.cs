using System.Buffers.Binary;
using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.Collections;
using BpfPS.Core.Elf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

internal sealed partial class ObjectParser
{
    /// <summary>BPF_F_RDONLY_PROG: programs may only read the map (uapi/linux/bpf.h).</summary>
    internal const uint MapFlagReadOnlyProgram = 1u << 7;
    /// <summary>BPF_F_MMAPABLE: user space may mmap the array (uapi/linux/bpf.h).</summary>
    internal const uint MapFlagMmapable = 1u << 10;
    private const int LegacyMapDefinitionSize = 20;

    private readonly OrderedDictionary<string, MapSpec> _maps = new(StringComparer.Ordinal);
    /// <summary>BTF-defined maps with their place in ".maps" (for relocations and .values initialisers).</summary>
    // The core's own list, not List<BtfMapSlot> (JIT-compiled at the first load of every session; see ValueList).
    private readonly ValueList<BtfMapSlot> _btfMapSlots = new();
    /// <summary>Legacy map names by offset in the "maps" section.</summary>
    private readonly Dictionary<ulong, string> _legacyMapsByOffset = new();
    /// <summary>Global data map names by ELF section index.</summary>
    private readonly Dictionary<int, string> _dataMapsBySection = new();

    private readonly record struct BtfMapSlot(MapSpec Map, uint Offset, uint Size, uint DefinitionTypeId);

    /// <summary>The first map whose variable starts at <paramref name="offset"/> of .maps, or default (no map).</summary>
    private BtfMapSlot BtfMapSlotAt(ulong offset)
    {
        for (int i = 0; i < _btfMapSlots.Count; i++)
            if (_btfMapSlots[i].Offset == offset) return _btfMapSlots[i];
        return default;
    }

    /// <summary>The first map whose variable holds the 8 bytes at <paramref name="offset"/> of .maps, or default (no map).</summary>
    private BtfMapSlot BtfMapSlotHolding(ulong offset)
    {
        for (int i = 0; i < _btfMapSlots.Count; i++)
        {
            ref readonly var s = ref _btfMapSlots[i];
            if (s.Offset <= offset && offset + 8 <= (ulong)s.Offset + s.Size) return s;
        }
        return default;
    }

    /// <summary>The order libbpf creates maps in: BTF-defined, then (BpfPS only) legacy, then global data, then .kconfig, then struct_ops.</summary>
    private void CollectMaps()
    {
        CollectBtfMaps();
        CollectLegacyMaps();
        CollectGlobalDataMaps();
        CollectKconfigMap();
        CollectStructOpsMaps();
    }

    private void AddMap(MapSpec map, string section, long offset)
    {
        if (!_maps.TryAdd(map.Name, map))
            throw _elf.Error($"two maps are named '{map.Name}'", section, offset);
    }

    /// <summary>libbpf's bpf_object__init_user_btf_maps: one map per VAR of the ".maps" DATASEC.</summary>
    private void CollectBtfMaps()
    {
        if (_btfMapsIndex < 0) return;
        var section = _elf.SectionArray[_btfMapsIndex];
        var btf = _btf ?? throw _elf.Error("BTF-defined maps need .BTF", section.Name);
        uint datasecId = 0;
        foreach (uint id in btf.FindByName(".maps"))
        {
            if (btf.GetKind(id) == BtfKind.Datasec && (datasecId == 0 || id < datasecId)) datasecId = id;
        }
        if (datasecId == 0) throw _elf.Error("no BTF DATASEC '.maps' describes the .maps section", section.Name);

        var datasec = (BtfDatasec)btf.GetType(datasecId);
        for (int i = 0; i < datasec.VariableArray.Length; i++)
        {
            var vi = datasec.VariableArray[i];
            long where = (long)section.Offset + vi.Offset;
            if (btf.GetType(vi.TypeId) is not BtfVar var)
                throw _elf.Error($"map #{i}: DATASEC entry is {btf.GetKind(vi.TypeId)}, not a VAR", section.Name, where);
            if (var.Name.Length == 0)
                throw _elf.Error($"map #{i}: empty name", section.Name, where);
            if ((ulong)vi.Offset + vi.Size > section.Size)
                throw _elf.Error($"map '{var.Name}': definition at {vi.Offset} (+{vi.Size}) lies outside .maps", section.Name, where);
            if (var.Linkage != BtfLinkage.Global)
                throw _elf.Error($"map '{var.Name}': unsupported linkage {var.Linkage} (maps must be global variables)", section.Name, where);
            uint defId = WithFile(() => btf.SkipModsAndTypedefs(var.TypeId));
            if (btf.GetType(defId) is not BtfComposite { IsUnion: false } def)
                throw _elf.Error($"map '{var.Name}': definition is a {btf.GetKind(defId)}, not a struct", section.Name, where);
            if (def.ByteSize > vi.Size)
                throw _elf.Error($"map '{var.Name}': definition size {def.ByteSize} exceeds its variable ({vi.Size})", section.Name, where);

            var definition = ParseMapDefinition(var.Name, def, isInner: false, section.Name, where);
            var map = definition.ToSpec(var.Name, ".maps");
            if (definition.Inner is { } inner) map.InnerMap = inner.ToSpec(var.Name + ".inner", ".maps");
            AddMap(map, section.Name, where);
            _btfMapSlots.Add(new BtfMapSlot(map, vi.Offset, vi.Size, defId));
        }
    }

    /// <summary>libbpf's parse_btf_map_def (strict: unknown fields are errors).</summary>
    private MapDefinition ParseMapDefinition(string mapName, BtfComposite def, bool isInner, string section, long where)
    {
        var btf = _btf!;
        var d = new MapDefinition();
        for (int i = 0; i < def.Members.Length; i++)
        {
            var m = def.Members[i];
            switch (m.Name)
            {
                case "type": d.Type = (BpfMapType)IntField(m); break;
                case "max_entries": d.MaxEntries = IntField(m); break;
                case "map_flags": d.Flags = IntField(m); break;
                case "numa_node": d.NumaNode = IntField(m); break;
                case "map_extra": d.MapExtra = IntField(m); break;
                case "key_size": d.KeySize = Agree("key size", d.KeySize, IntField(m)); break;
                case "value_size": d.ValueSize = Agree("value size", d.ValueSize, IntField(m)); break;
                case "key":
                    d.KeyTypeId = PointedType(m, "key");
                    d.KeySize = Agree("key size", d.KeySize, SizeOfOrThrow(d.KeyTypeId, "key"));
                    break;
                case "value":
                    d.ValueTypeId = PointedType(m, "value");
                    d.ValueSize = Agree("value size", d.ValueSize, SizeOfOrThrow(d.ValueTypeId, "value"));
                    break;
                case "values":
                    ParseValues(d, m, i == def.Members.Length - 1);
                    break;
                case "pinning":
                    if (isInner) throw Fail("an inner map definition can't be pinned");
                    uint pinning = IntField(m);
                    if (pinning > (uint)MapPinning.ByName) throw Fail($"invalid pinning value {pinning}");
                    d.Pinning = (MapPinning)pinning;
                    break;
                default:
                    throw Fail($"unknown field '{m.Name}'");
            }
        }
        if (d.Type == BpfMapType.Unspec) throw Fail("map type isn't specified");
        return d;

        BpfFormatException Fail(string message) => _elf.Error($"map '{mapName}': {message}", section, where);

        // __uint(name, N) is "int (*name)[N]": the number is the array's length.
        uint IntField(BtfMember m)
        {
            uint ptrId = WithFile(() => btf.SkipModsAndTypedefs(m.TypeId));
            if (btf.GetType(ptrId) is not BtfReference { Kind: BtfKind.Pointer } ptr)
                throw Fail($"field '{m.Name}' is {btf.GetKind(ptrId)}, expected a pointer (use __uint)");
            if (btf.GetType(ptr.TypeId) is not BtfArray arr)
                throw Fail($"field '{m.Name}' points at {btf.GetKind(ptr.TypeId)}, expected an array (use __uint)");
            return arr.Count;
        }

        uint PointedType(BtfMember m, string what)
        {
            if (btf.GetType(m.TypeId) is not BtfReference { Kind: BtfKind.Pointer } ptr)
                throw Fail($"{what} spec is {btf.GetKind(m.TypeId)}, not a pointer (use __type)");
            return ptr.TypeId;
        }

        uint SizeOfOrThrow(uint typeId, string what)
        {
            if (typeId == 0) throw Fail($"can't determine {what} size of void");
            return WithFile(() => btf.SizeOf(typeId));
        }

        uint Agree(string what, uint existing, uint value)
        {
            if (existing != 0 && existing != value) throw Fail($"conflicting {what} {existing} != {value}");
            return value;
        }

        void ParseValues(MapDefinition d, BtfMember m, bool isLast)
        {
            bool isMapInMap = d.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps;
            bool isProgArray = d.Type == BpfMapType.ProgArray;
            if (isInner) throw Fail("multi-level inner maps are not supported");
            if (!isLast) throw Fail("'values' must be the last field");
            if (!isMapInMap && !isProgArray) throw Fail("only map-in-map and prog array maps can have 'values'");
            d.ValueSize = Agree("value size", d.ValueSize, 4);
            if (btf.GetType(m.TypeId) is not BtfArray { Count: 0 } arr)
                throw Fail("'values' is not a zero-sized array");
            uint elem = WithFile(() => btf.SkipModsAndTypedefs(arr.ElementTypeId));
            if (btf.GetType(elem) is not BtfReference { Kind: BtfKind.Pointer } ptr)
                throw Fail($"'values' elements are {btf.GetKind(elem)}, expected pointers");
            uint target = WithFile(() => btf.SkipModsAndTypedefs(ptr.TypeId));
            if (isProgArray)
            {
                if (btf.GetKind(target) != BtfKind.FuncProto)
                    throw Fail($"prog array 'values' point at {btf.GetKind(target)}, expected a function");
                return;
            }
            if (btf.GetType(target) is not BtfComposite { IsUnion: false } innerDef)
                throw Fail($"inner map definition is {btf.GetKind(target)}, expected a struct");
            d.Inner = ParseMapDefinition(mapName + ".inner", innerDef, isInner: true, section, where);
        }
    }

    /// <summary>
    /// Pre-BTF map definitions (struct bpf_map_def: type, key_size, value_size, max_entries, map_flags) in the "maps"
    /// section, named by their symbols. libbpf 1.x refuses them; older libbpf, iproute2 and cilium/ebpf accept them.
    /// </summary>
    private void CollectLegacyMaps()
    {
        if (_legacyMapsIndex < 0) return;
        var section = _elf.SectionArray[_legacyMapsIndex];
        var data = _elf.GetData(section).Span;
        // The core's list and its stable sort (as OrderBy was), not LINQ over ElfSymbol: JIT-compiled at a session's first
        // parse of a legacy object, since ReadyToRun cannot precompile framework generics over the core's structs.
        var symbols = new ValueList<ElfSymbol>();
        bool sized = true;
        foreach (var s in _elf.SymbolArray)
        {
            if (s.SectionIndex != section.Index || s.Type is ElfSymbolType.Section or ElfSymbolType.File || s.Name.Length == 0) continue;
            symbols.Add(s);
            sized &= s.Size > 0;
        }
        if (symbols.Count == 0) return;
        symbols.Sort(static (a, b) => a.Value.CompareTo(b.Value));
        ulong evenSize = section.Size / (ulong)symbols.Count;

        foreach (var sym in symbols)
        {
            ulong size = sized ? sym.Size : evenSize;
            long where = (long)section.Offset + (long)Math.Min(sym.Value, section.Size);
            // Against the bytes actually there: a NOBITS "maps" section has a size but no data.
            if (size < 4 || sym.Value > (ulong)data.Length || size > (ulong)data.Length - sym.Value)
                throw _elf.Error($"legacy map '{sym.Name}': definition at {sym.Value} (size {size}) lies outside the section", section.Name, where);
            var def = data.Slice((int)sym.Value, (int)size);
            for (int b = LegacyMapDefinitionSize; b < def.Length; b++)
            {
                if (def[b] != 0)
                    throw _elf.Error($"legacy map '{sym.Name}': definition has unsupported fields past the first {LegacyMapDefinitionSize} bytes", section.Name, where + b);
            }
            var map = new MapSpec
            {
                Name = sym.Name,
                Type = (BpfMapType)LegacyField(def, 0),
                KeySize = LegacyField(def, 1),
                ValueSize = LegacyField(def, 2),
                MaxEntries = LegacyField(def, 3),
                Flags = LegacyField(def, 4),
                SectionName = section.Name,
            };
            AddMap(map, section.Name, where);
            _legacyMapsByOffset[sym.Value] = sym.Name;
        }
    }

    /// <summary>Field <paramref name="index"/> of a struct bpf_map_def, 0 when the definition is shorter.</summary>
    private static uint LegacyField(ReadOnlySpan<byte> def, int index) =>
        def.Length >= (index + 1) * 4 ? BinaryPrimitives.ReadUInt32LittleEndian(def.Slice(index * 4)) : 0;

    /// <summary>libbpf's bpf_object__init_global_data_maps: each non-empty .data*, .rodata*, .bss* section is a one-element array.</summary>
    private void CollectGlobalDataMaps()
    {
        for (int i = 1; i < _roles.Length; i++)
        {
            var role = _roles[i];
            if (role is not (SectionRole.Data or SectionRole.ReadOnlyData or SectionRole.Bss)) continue;
            var section = _elf.SectionArray[i];
            if (section.Size == 0) continue;
            bool readOnly = role == SectionRole.ReadOnlyData;
            var map = InternalMap(section.Name, (uint)section.Size, readOnly,
                role == SectionRole.Bss ? null : _elf.GetData(section).ToArray());
            AddMap(map, section.Name, (long)section.Offset);
            _dataMapsBySection[i] = section.Name;
        }
    }

    /// <summary>libbpf's bpf_object__init_kconfig_map: sized to hold every kconfig extern as laid out.</summary>
    private void CollectKconfigMap()
    {
        var last = _externs.LastOrDefault(e => e.Kind == ExternKind.Kconfig);
        if (last is null) return;
        AddMap(InternalMap(KconfigSection, last.Offset + last.Size, readOnly: true, initialValue: null), KconfigSection, -1);
    }

    /// <summary>
    /// libbpf's bpf_object__init_internal_map: ARRAY, 4-byte key, one element; read-only for programs when .rodata or
    /// .kconfig; mmapable when its DATASEC has a non-static variable; value type = the first BTF type named like the section.
    /// </summary>
    private MapSpec InternalMap(string name, uint valueSize, bool readOnly, byte[]? initialValue)
    {
        uint valueType = 0;
        if (_btf is not null)
        {
            foreach (uint id in _btf.FindByName(name))
            {
                if (valueType == 0 || id < valueType) valueType = id;
            }
        }
        uint flags = readOnly ? MapFlagReadOnlyProgram : 0;
        if (valueType != 0 && _btf!.GetType(valueType) is BtfDatasec datasec)
        {
            foreach (var v in datasec.VariableArray)
            {
                if (_btf.GetType(v.TypeId) is BtfVar { Linkage: not BtfLinkage.Static }) { flags |= MapFlagMmapable; break; }
            }
        }
        return new MapSpec
        {
            Name = name,
            Type = BpfMapType.Array,
            KeySize = 4,
            ValueSize = valueSize,
            MaxEntries = 1,
            Flags = flags,
            KeyTypeId = 0,
            ValueTypeId = valueType,
            InitialValue = initialValue,
            SectionName = name,
            IsInternal = true,
            Freeze = readOnly,
        };
    }

    /// <summary>
    /// libbpf's bpf_object__collect_map_relos: pointers in a map's ".values" initialiser name the maps (map-in-map) or
    /// programs (prog array) for its slots.
    /// </summary>
    private void CollectMapInitialisers()
    {
        for (int i = 1; i < _roles.Length; i++)
        {
            if (_roles[i] != SectionRole.MapRelocations) continue;
            var relSection = _elf.SectionArray[i];
            var slots = new Dictionary<MapSpec, SortedDictionary<uint, string>>();
            foreach (var rel in _elf.ReadRelocations(relSection))
            {
                var sym = _elf.GetSymbol(rel.SymbolIndex, relSection.Name, rel.EntryOffset);
                var slot = BtfMapSlotHolding(rel.Offset);
                if (slot.Map is null)
                    throw _elf.Error($"relocation against '{sym.Name}' at .maps offset {rel.Offset} is inside no map", relSection.Name, rel.EntryOffset);
                var map = slot.Map;
                string target;
                if (map.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps)
                {
                    if (sym.SectionIndex != _btfMapsIndex)
                        throw _elf.Error($"map '{map.Name}': initialiser '{sym.Name}' isn't a BTF-defined map", relSection.Name, rel.EntryOffset);
                    if (map.Type == BpfMapType.HashOfMaps && map.KeySize != 4)
                        throw _elf.Error($"map '{map.Name}': a hash of maps with initialisers needs a 4-byte key", relSection.Name, rel.EntryOffset);
                    if (!_maps.ContainsKey(sym.Name))
                        throw _elf.Error($"map '{map.Name}': initialiser '{sym.Name}' isn't a map", relSection.Name, rel.EntryOffset);
                    target = sym.Name;
                }
                else if (map.Type == BpfMapType.ProgArray)
                {
                    var prog = _functions.FirstOrDefault(f => !f.IsSubprogram && f.Name == sym.Name)
                        ?? throw _elf.Error($"map '{map.Name}': initialiser '{sym.Name}' isn't a program", relSection.Name, rel.EntryOffset);
                    if (prog.SectionIndex != sym.SectionIndex || (ulong)prog.SectionInstructionOffset * InstructionSize != sym.Value)
                        throw _elf.Error($"map '{map.Name}': initialiser '{sym.Name}' isn't an entry-point program", relSection.Name, rel.EntryOffset);
                    target = sym.Name;
                }
                else
                {
                    throw _elf.Error($"map '{map.Name}': only map-in-map and prog array maps take initialisers", relSection.Name, rel.EntryOffset);
                }

                var def = (BtfComposite)_btf!.GetType(slot.DefinitionTypeId);
                if (def.Members.Length == 0 || def.Members[^1].Name != "values")
                    throw _elf.Error($"map '{map.Name}': initialiser without a 'values' field", relSection.Name, rel.EntryOffset);
                ulong valuesAt = def.Members[^1].BitOffset / 8;
                ulong within = rel.Offset - slot.Offset;
                if (within < valuesAt || (within - valuesAt) % 8 != 0)
                    throw _elf.Error($"map '{map.Name}': initialiser at offset {within} is not a 'values' slot", relSection.Name, rel.EntryOffset);
                uint index = (uint)((within - valuesAt) / 8);
                if (!slots.TryGetValue(map, out var entries)) slots[map] = entries = new SortedDictionary<uint, string>();
                entries[index] = target;
            }
            foreach (var (map, entries) in slots)
            {
                var contents = new MapInitEntry[entries.Count];
                int n = 0;
                foreach (var (index, target) in entries) contents[n++] = new MapInitEntry(index, target);
                map.ContentArray = contents;
            }
        }
    }

    /// <summary>A parsed BTF map definition (libbpf's struct btf_map_def).</summary>
    private sealed class MapDefinition
    {
        public BpfMapType Type;
        public uint KeySize, ValueSize, MaxEntries, Flags, NumaNode, MapExtra, KeyTypeId, ValueTypeId;
        public MapPinning Pinning;
        public MapDefinition? Inner;

        public MapSpec ToSpec(string name, string section) => new()
        {
            Name = name,
            Type = Type,
            KeySize = KeySize,
            ValueSize = ValueSize,
            MaxEntries = Type is BpfMapType.Ringbuf or BpfMapType.UserRingbuf ? RoundRingbufSize(MaxEntries) : MaxEntries,
            Flags = Flags,
            NumaNode = NumaNode,
            MapExtra = MapExtra,
            KeyTypeId = KeyTypeId,
            ValueTypeId = ValueTypeId,
            Pinning = Pinning,
            SectionName = section,
        };
    }

    /// <summary>
    /// libbpf's adjust_ringbuf_sz: the kernel wants a power-of-two number of pages, so other sizes are rounded up to the
    /// next page-size power of two (0 stays 0 so the kernel reports the mistake).
    /// </summary>
    internal static uint RoundRingbufSize(uint size)
    {
        uint page = (uint)Environment.SystemPageSize;
        if (size == 0) return 0;
        if (size % page == 0 && uint.IsPow2(size / page)) return size;
        for (ulong mul = 1; mul <= uint.MaxValue / page; mul <<= 1)
        {
            if (mul * page > size) return (uint)(mul * page);
        }
        return size;
    }
}
