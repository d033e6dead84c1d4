using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;
using BpfPS.Core.Elf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// The readers and engines that take untrusted bytes: the ELF reader, the BTF decoder (and everything that walks the
/// type graph: sizes, names, C declarations, the C header writer), the .BTF.ext reader, the object parser and the
/// CO-RE engine. Each target does all the work a user's command could make the code do with such input.
/// </summary>
public static class FuzzTargets
{
    public static readonly FuzzTarget ElfTarget = new() { Name = "elf", Blobs = [BlobKind.Elf], Run = RunElf };
    public static readonly FuzzTarget BtfTarget = new() { Name = "btf", Blobs = [BlobKind.Btf], Run = RunBtf };
    public static readonly FuzzTarget BtfExtTarget = new() { Name = "btfext", Blobs = [BlobKind.Btf, BlobKind.BtfExt], Run = RunBtfExt };
    public static readonly FuzzTarget ObjectTarget = new() { Name = "object", Blobs = [BlobKind.Elf], Run = RunObject };
    public static readonly FuzzTarget CoreTarget = new() { Name = "core", Blobs = [BlobKind.Btf, BlobKind.BtfExt, BlobKind.Instructions], Run = RunCore };

    public static readonly IReadOnlyList<FuzzTarget> All = [ElfTarget, BtfTarget, BtfExtTarget, ObjectTarget, CoreTarget];

    public static FuzzTarget ByName(string name) =>
        All.FirstOrDefault(t => t.Name == name) ?? throw new ArgumentException($"no fuzz target '{name}' (targets: {string.Join(", ", All.Select(t => t.Name))})");

    private const string Source = "fuzz-input";

    private static void RunElf(ReadOnlyMemory<byte>[] blobs)
    {
        var elf = ElfFile.Parse(blobs[0], Source);
        foreach (var section in elf.Sections)
        {
            _ = elf.GetData(section);
            _ = elf.TryGetSection(section.Name, out _);
            if (section.Type == ElfSectionType.Rel)
                foreach (var r in elf.ReadRelocations(section))
                    _ = elf.GetSymbol(r.SymbolIndex, section.Name, r.EntryOffset);
        }
        foreach (var symbol in elf.Symbols)
            if (symbol.IsInSection)
                _ = elf.GetSection(symbol.SectionIndex, "symbol section");
    }

    private static void RunBtf(ReadOnlyMemory<byte>[] blobs) => WalkBtf(BtfSpec.Parse(blobs[0], Source));

    /// <summary>Everything that reads a spec's types: decode, kind, name, size, modifier skipping, name lookups, C text.</summary>
    internal static void WalkBtf(BtfSpec spec)
    {
        var names = new List<string>();
        for (uint id = 0; id < spec.NextTypeId; id++)
        {
            var type = spec.GetType(id);
            _ = spec.GetKind(id);
            string name = spec.GetName(id);
            if (name.Length > 0 && names.Count < 64) names.Add(name);
            _ = spec.SkipModsAndTypedefs(id);
            SizeOfOrNothing(spec, id);
            if (id > 0)
            {
                _ = BtfCDeclaration.Format(spec, id);
                _ = BtfCDeclaration.Declare(spec, id, "x");
            }
            _ = type.ToString();
        }
        foreach (var name in names)
        {
            _ = spec.FindByName(name);
            _ = spec.FindByEssentialName(BtfSpec.EssentialName(name));
        }
        _ = spec.FindByName("task_struct");
        BtfCHeaderWriter.Write(spec, TextWriter.Null);
    }

    private static void SizeOfOrNothing(BtfSpec spec, uint id)
    {
        // SizeOf documents BpfFormatException for types with no size (void, func, fwd): that is an answer here, not a failure.
        try { _ = spec.SizeOf(id); }
        catch (BpfFormatException) { }
    }

    private static void RunBtfExt(ReadOnlyMemory<byte>[] blobs)
    {
        var btf = BtfSpec.Parse(blobs[0], Source);
        var ext = BtfExt.Parse(blobs[1].Span, btf, Source);
        foreach (var section in ext.Sections.Values)
            foreach (var relocation in section.CoreRelocations)
                _ = relocation.AccessString.Length;
    }

    private static void RunObject(ReadOnlyMemory<byte>[] blobs)
    {
        var spec = CollectionSpec.Parse(blobs[0], Source);
        foreach (var program in spec.Programs.Values)
            _ = program.Instructions.Length;
        if (spec.Btf is not null)
            for (uint id = 1; id < spec.Btf.NextTypeId && id < 4096; id++)
                _ = spec.Btf.GetType(id);
    }

    private static void RunCore(ReadOnlyMemory<byte>[] blobs)
    {
        var local = BtfSpec.Parse(blobs[0], Source);
        var ext = BtfExt.Parse(blobs[1].Span, local, Source);
        var code = blobs[2].Span;
        var instructions = MemoryMarshal.Cast<byte, BpfInstruction>(code[..(code.Length / 8 * 8)]).ToArray();
        var targets = KernelStandIn.Value;
        foreach (var section in ext.Sections.Values)
        {
            if (section.CoreRelocations.IsEmpty) continue;
            // The instructions are one section's: the other sections' records rightly fail on them, so each section is
            // tried on its own and a format error in one does not hide the others.
            var copy = (BpfInstruction[])instructions.Clone();
            try { _ = CoreRelocator.Apply(copy, section.CoreRelocations.AsSpan(), local, targets); }
            catch (BpfFormatException) { }
        }
    }

    /// <summary>
    /// A small kernel stand-in: the task_struct fields, flavors, enums and typedefs the fixtures relocate against, with
    /// other offsets and sizes than the fixtures' local copies, plus a split "module" spec on top.
    /// </summary>
    internal static readonly Lazy<BtfSpec[]> KernelStandIn = new(() =>
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed), u32 = b.AddInt("unsigned int", 4);
        uint i64 = b.AddInt("long", 8, BtfIntEncoding.Signed), ch = b.AddInt("char", 1, BtfIntEncoding.Char);
        uint pidT = b.AddTypedef("pid_t", i32);
        uint comm = b.AddArray(ch, i32, 16);
        uint taskFwd = b.AddFwd("task_struct");
        uint taskPtr = b.AddPointer(taskFwd);
        uint inner = b.AddStruct("", 8, new BtfMember("tgid", pidT, 0, 0), new BtfMember("flags", u32, 32, 0));
        uint task = b.AddStruct("task_struct", 64,
            new BtfMember("__state", u32, 0, 0), new BtfMember("in_execve", u32, 35, 1), new BtfMember("pid", pidT, 64, 0),
            new BtfMember("", inner, 128, 0), new BtfMember("real_parent", taskPtr, 192, 0), new BtfMember("comm", comm, 256, 0),
            new BtfMember("state", i64, 384, 0));
        b.AddStruct("task_struct___v2", 8, new BtfMember("pid", i32, 0, 0));
        b.AddUnion("u", 8, new BtfMember("a", i64, 0, 0), new BtfMember("b", b.AddConst(b.AddVolatile(task)), 0, 0));
        b.AddEnum("bpf_func_id", 4, false, new BtfEnumValue("BPF_FUNC_map_lookup_elem", 1), new BtfEnumValue("BPF_FUNC_ktime_get_ns", 5));
        b.AddEnum64("perf_callchain_context", 8, true, new BtfEnumValue("PERF_CONTEXT_KERNEL", -128), new BtfEnumValue("PERF_CONTEXT_USER", -512));
        b.AddFuncProto(i32, new BtfParameter("task", taskPtr));
        var vmlinux = b.BuildSpec("fuzz-target-vmlinux");
        var module = new BtfBuilder(vmlinux);
        module.AddStruct("no_such_struct_xyz", 4, new BtfMember("a", i32, 0, 0));
        module.AddStruct("task_struct", 4, new BtfMember("pid", u32, 0, 0));
        return [vmlinux, module.BuildSpec("fuzz-target-module")];
    });
}
