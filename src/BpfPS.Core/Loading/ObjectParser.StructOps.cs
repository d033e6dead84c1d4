using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.Collections;
using BpfPS.Core.Elf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

internal sealed partial class ObjectParser
{
    private const string StructOpsSection = ".struct_ops";
    private const string StructOpsLinkSection = ".struct_ops.link";

    /// <summary>A struct_ops variable: its map, where it lies in its ELF section, and its struct in the object's BTF.</summary>
    private readonly record struct StructOpsSlot(MapSpec Map, int SectionIndex, uint Offset, BtfComposite Type, ValueList<StructOpsFunction> Functions);

    // The core's own list, not List<StructOpsSlot> (JIT-compiled at the first load of every session; see ValueList).
    private readonly ValueList<StructOpsSlot> _structOpsSlots = new();

    /// <summary>
    /// libbpf's bpf_object__init_struct_ops_maps, for ".struct_ops" and ".struct_ops.link" (libbpf 1.2+; created with
    /// BPF_F_LINK): one STRUCT_OPS map per variable of the section's DATASEC, named after the variable, with the
    /// variable's bytes as the object's view of the struct. Value size here is the object's struct size, as after
    /// libbpf's open; the loader sizes the kernel value from the running kernel's bpf_struct_ops_&lt;name&gt;.
    /// </summary>
    private void CollectStructOpsMaps()
    {
        for (int i = 1; i < _elf.SectionArray.Length; i++)
        {
            var section = _elf.SectionArray[i];
            if (section.Name is not (StructOpsSection or StructOpsLinkSection)) continue;
            if (section.Type != ElfSectionType.ProgBits || section.Size == 0) continue; // libbpf only keeps non-empty PROGBITS
            var btf = _btf ?? throw _elf.Error("struct_ops maps need .BTF", section.Name, (long)section.Offset);
            uint datasecId = 0;
            foreach (uint id in btf.FindByName(section.Name))
            {
                if (btf.GetKind(id) == BtfKind.Datasec && (datasecId == 0 || id < datasecId)) datasecId = id;
            }
            if (datasecId == 0) throw _elf.Error($"no BTF DATASEC '{section.Name}' describes the section", section.Name, (long)section.Offset);

            var data = _elf.GetData(section).Span;
            var datasec = (BtfDatasec)btf.GetType(datasecId);
            foreach (var vi in datasec.VariableArray)
            {
                long where = (long)section.Offset + vi.Offset;
                if (btf.GetType(vi.TypeId) is not BtfVar var || var.Name.Length == 0)
                    throw _elf.Error($"DATASEC entry [{vi.TypeId}] is not a named VAR", section.Name, where);
                uint typeId = WithFile(() => btf.SkipModsAndTypedefs(var.TypeId));
                var type = btf.GetType(typeId);
                if (type.Name.Length == 0)
                    throw _elf.Error($"struct_ops '{var.Name}': anonymous types are not supported (name the struct after the kernel's)", section.Name, where);
                if (type is not BtfComposite { IsUnion: false } composite)
                    throw _elf.Error($"struct_ops '{var.Name}': {type.Name} is a {type.Kind}, not a struct", section.Name, where);
                if ((ulong)vi.Offset + composite.ByteSize > (ulong)data.Length)
                    throw _elf.Error($"struct_ops '{var.Name}' at {vi.Offset} (+{composite.ByteSize}) lies beyond the section's end", section.Name, where);

                bool link = section.Name == StructOpsLinkSection;
                var map = new MapSpec
                {
                    Name = var.Name,
                    Type = BpfMapType.StructOps,
                    KeySize = 4,
                    ValueSize = composite.ByteSize,
                    MaxEntries = 1,
                    Flags = link ? StructOpsSpec.LinkFlag : 0,
                    SectionName = section.Name,
                    StructOps = new StructOpsSpec
                    {
                        TypeName = composite.Name,
                        TypeId = typeId,
                        Data = data.Slice((int)vi.Offset, (int)composite.ByteSize).ToArray(),
                        UsesLink = link,
                    },
                };
                AddMap(map, section.Name, where);
                _structOpsSlots.Add(new StructOpsSlot(map, i, vi.Offset, composite, new ValueList<StructOpsFunction>()));
            }
        }
    }

    /// <summary>
    /// libbpf's bpf_object__collect_st_ops_relos: each relocation in a struct_ops section sets one function-pointer member
    /// to a struct_ops program, which then carries that member's index as its expected attach type (the loader replaces
    /// it with the kernel struct's index of the member of the same name).
    /// </summary>
    private void CollectStructOpsFunctions(IReadOnlyDictionary<string, ProgramSpec> programs)
    {
        if (_structOpsSlots.Count == 0) return;
        var assigned = new Dictionary<string, (uint TypeId, int Member, string Map)>(StringComparer.Ordinal);
        for (int r = 1; r < _elf.SectionArray.Length; r++)
        {
            var relSection = _elf.SectionArray[r];
            if (relSection.Type != ElfSectionType.Rel || relSection.Info == 0 || relSection.Info >= _elf.SectionArray.Length) continue;
            var target = _elf.SectionArray[(int)relSection.Info];
            if (target.Name is not (StructOpsSection or StructOpsLinkSection)) continue;

            foreach (var rel in _elf.ReadRelocations(relSection))
            {
                var sym = _elf.GetSymbol(rel.SymbolIndex, relSection.Name, rel.EntryOffset);
                BpfFormatException Fail(string message) => _elf.Error($"struct_ops relocation against '{sym.Name}': {message}", relSection.Name, rel.EntryOffset);

                StructOpsSlot slot = default;
                for (int i = 0; i < _structOpsSlots.Count; i++)
                {
                    ref readonly var s = ref _structOpsSlots[i];
                    if (s.SectionIndex == target.Index && rel.Offset >= s.Offset && rel.Offset < s.Offset + s.Type.ByteSize) { slot = s; break; }
                }
                if (slot.Map is null) throw Fail($"no struct_ops variable at {target.Name} offset {rel.Offset}");
                ulong memberOffset = rel.Offset - slot.Offset;
                int memberIndex = -1;
                for (int m = 0; m < slot.Type.Members.Length; m++)
                {
                    if (slot.Type.Members[m].BitOffset == memberOffset * 8) { memberIndex = m; break; }
                }
                if (memberIndex < 0) throw Fail($"no member of struct {slot.Type.Name} starts at offset {memberOffset}");
                var member = slot.Type.Members[memberIndex];
                var btf = _btf!;
                uint pointer = WithFile(() => btf.SkipModsAndTypedefs(member.TypeId));
                if (btf.GetType(pointer) is not BtfReference { Kind: BtfKind.Pointer } ptr
                    || btf.GetKind(WithFile(() => btf.SkipModsAndTypedefs(ptr.TypeId))) != BtfKind.FuncProto)
                    throw Fail($"member '{member.Name}' of struct {slot.Type.Name} is not a function pointer");
                if (!sym.IsInSection) throw Fail("the symbol is not defined in this object (only the object's own programs can be set)");
                if (sym.Value % InstructionSize != 0) throw Fail($"target offset {sym.Value} is not on an instruction");

                var function = FindFunction(sym.SectionIndex, (int)(sym.Value / InstructionSize));
                if (function is null || !programs.TryGetValue(function.Name, out var program))
                    throw Fail($"member '{member.Name}' points at no program in section '{SectionNameOf(sym)}'");
                if (program.Type != BpfProgramType.StructOps)
                    throw Fail($"program '{program.Name}' (section '{program.SectionName}') is not a struct_ops program: use SEC(\"struct_ops/...\")");
                if (assigned.TryGetValue(program.Name, out var earlier) && (earlier.TypeId != slot.Map.StructOps!.TypeId || earlier.Member != memberIndex))
                    throw Fail($"program '{program.Name}' is already member #{earlier.Member} of struct_ops '{earlier.Map}'; a program can implement only one member of one struct type");
                assigned[program.Name] = (slot.Map.StructOps!.TypeId, memberIndex, slot.Map.Name);
                program.ExpectedAttachType = (BpfAttachType)memberIndex;
                // A later relocation of the same member replaces the earlier one (at most one entry per member).
                var implemented = new StructOpsFunction(memberIndex, member.Name, program.Name);
                int existing = -1;
                for (int f = 0; f < slot.Functions.Count; f++)
                    if (slot.Functions[f].MemberIndex == memberIndex) { existing = f; break; }
                if (existing >= 0) slot.Functions[existing] = implemented;
                else slot.Functions.Add(implemented);
            }
        }
        foreach (var slot in _structOpsSlots)
        {
            slot.Functions.Sort(static (a, b) => a.MemberIndex.CompareTo(b.MemberIndex));
            slot.Map.StructOps!.FunctionArray = slot.Functions.DrainToArray();
        }
    }
}

