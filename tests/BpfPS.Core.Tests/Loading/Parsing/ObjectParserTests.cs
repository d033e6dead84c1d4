using System.Globalization;
using System.Text.RegularExpressions;
using BpfPS.Core.Btf;
using BpfPS.Core.Elf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

// Expectations here come from the fixtures' C source, from llvm-readelf-14, or from libbpf's documented rules worked out
// by hand; none were copied from BpfPS's own output.
public class ObjectParserTests
{
    private static CollectionSpec Load(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        return CollectionSpec.Load(Fixtures.Path(fixture));
    }

    [SkippableFact]
    public void SeveralProgramsPerSection()
    {
        var spec = Load("multi_prog");
        Assert.Equal(new[] { "xdp_first", "xdp_second", "socket_first", "socket_second" }, spec.Programs.Keys);
        Assert.All(spec.Programs.Values.Take(2), p => Assert.Equal(("xdp", BpfProgramType.Xdp), (p.SectionName, p.Type)));
        Assert.All(spec.Programs.Values.Skip(2), p => Assert.Equal(("socket", BpfProgramType.SocketFilter), (p.SectionName, p.Type)));
        Assert.Equal("GPL", spec.License);
        Assert.All(spec.Programs.Values, p => Assert.Equal("GPL", p.License));
    }

    [SkippableFact]
    public void SectionKindsGiveTypesAttachTargetsAndFlags()
    {
        var p = Load("sec_kinds").Programs;
        Assert.Equal(27, p.Count);
        Assert.Equal((BpfProgramType.Tracing, BpfAttachType.TraceFentry, "do_unlinkat", 0u), (p["k_fentry"].Type, p["k_fentry"].ExpectedAttachType, p["k_fentry"].AttachTo, p["k_fentry"].Flags));
        Assert.Equal((BpfProgramType.Tracing, BpfAttachType.TraceFentry, "do_unlinkat", 1u << 4), (p["k_fentry_sleepable"].Type, p["k_fentry_sleepable"].ExpectedAttachType, p["k_fentry_sleepable"].AttachTo, p["k_fentry_sleepable"].Flags));
        Assert.Equal((BpfProgramType.Lsm, BpfAttachType.LsmMac, "file_open"), (p["k_lsm"].Type, p["k_lsm"].ExpectedAttachType, p["k_lsm"].AttachTo));
        Assert.Equal((BpfProgramType.Tracing, BpfAttachType.TraceRawTp, "sched_switch"), (p["k_tp_btf"].Type, p["k_tp_btf"].ExpectedAttachType, p["k_tp_btf"].AttachTo));
        Assert.Equal((BpfProgramType.Tracing, BpfAttachType.TraceIter, "task"), (p["k_iter_task"].Type, p["k_iter_task"].ExpectedAttachType, p["k_iter_task"].AttachTo));
        Assert.Equal((BpfProgramType.Kprobe, (string?)null), (p["k_kprobe"].Type, p["k_kprobe"].AttachTo));
        Assert.Equal(BpfProgramType.Tracepoint, p["k_tracepoint"].Type);
        Assert.Equal(BpfProgramType.RawTracepoint, p["k_raw_tp"].Type);
        Assert.Equal((BpfProgramType.CgroupSkb, BpfAttachType.CgroupInetIngress), (p["k_cgroup_skb"].Type, p["k_cgroup_skb"].ExpectedAttachType));
        Assert.Equal((BpfProgramType.CgroupSock, BpfAttachType.CgroupInetSockCreate), (p["k_cgroup_sock"].Type, p["k_cgroup_sock"].ExpectedAttachType));
        Assert.Equal((BpfProgramType.SkSkb, BpfAttachType.SkSkbStreamVerdict), (p["k_sk_skb"].Type, p["k_sk_skb"].ExpectedAttachType));
        Assert.Equal((BpfProgramType.Syscall, 1u << 4), (p["k_syscall"].Type, p["k_syscall"].Flags));
        Assert.Equal((BpfProgramType.Xdp, 1u << 5), (p["k_xdp_frags"].Type, p["k_xdp_frags"].Flags));
        Assert.Equal(BpfProgramType.PerfEvent, p["k_perf_event"].Type);
    }

    [SkippableFact]
    public void BtfMapShapesFollowTheSource()
    {
        var maps = Load("btf_maps").Maps;
        var hash = maps["hash_map"];
        Assert.Equal((BpfMapType.Hash, 4u, 16u, 128u, 1u), (hash.Type, hash.KeySize, hash.ValueSize, hash.MaxEntries, hash.Flags)); // struct pair {u32; u64} is 16 bytes; BPF_F_NO_PREALLOC = 1
        Assert.Equal((BpfMapType.Array, 4u, 24u, 8u, 0u, 0u), (maps["sized_array"].Type, maps["sized_array"].KeySize, maps["sized_array"].ValueSize, maps["sized_array"].MaxEntries, maps["sized_array"].KeyTypeId, maps["sized_array"].ValueTypeId));
        Assert.Equal(MapPinning.ByName, maps["pinned_lru"].Pinning);
        Assert.Equal(MapPinning.None, hash.Pinning);
        Assert.Equal(3ul, maps["bloom"].MapExtra);
        Assert.Equal((BpfMapType.BloomFilter, 0u, 4u), (maps["bloom"].Type, maps["bloom"].KeySize, maps["bloom"].ValueSize));
        Assert.Equal((BpfMapType.PerfEventArray, 4u, 4u, 0u), (maps["perf_events"].Type, maps["perf_events"].KeySize, maps["perf_events"].ValueSize, maps["perf_events"].MaxEntries));
        // 5000 is not a power-of-two number of pages: rounded up to the next one.
        uint page = (uint)Environment.SystemPageSize;
        uint expectedRing = page;
        while (expectedRing <= 5000) expectedRing *= 2;
        Assert.Equal(expectedRing, maps["events"].MaxEntries);
        Assert.Equal((BpfMapType.LpmTrie, 8u), (maps["lpm"].Type, maps["lpm"].KeySize));

        var outer = maps["outer_array"];
        Assert.Equal((BpfMapType.ArrayOfMaps, 4u, 4u, 4u), (outer.Type, outer.KeySize, outer.ValueSize, outer.MaxEntries));
        Assert.Equal(new[] { new MapInitEntry(0, "inner_a"), new MapInitEntry(2, "inner_b") }, outer.Contents);
        Assert.Equal(("outer_array.inner", BpfMapType.Array, 4u, 4u, 1u), (outer.InnerMap!.Name, outer.InnerMap.Type, outer.InnerMap.KeySize, outer.InnerMap.ValueSize, outer.InnerMap.MaxEntries));
        var outerHash = maps["outer_hash"];
        Assert.Equal((BpfMapType.Hash, 4u, 8u, 8u), (outerHash.InnerMap!.Type, outerHash.InnerMap.KeySize, outerHash.InnerMap.ValueSize, outerHash.InnerMap.MaxEntries));
        Assert.Empty(outerHash.Contents);
        var jump = maps["jump_table"];
        Assert.Equal((BpfMapType.ProgArray, 4u, 4u, 3u), (jump.Type, jump.KeySize, jump.ValueSize, jump.MaxEntries));
        Assert.Equal(new[] { new MapInitEntry(1, "tail_target") }, jump.Contents);
        Assert.Null(jump.InnerMap);
        Assert.All(maps.Values, m => Assert.False(m.IsInternal));
    }

    [SkippableFact]
    public void LegacyMapsAreAccepted()
    {
        var spec = Load("legacy_maps");
        var hash = spec.Maps["legacy_hash"];
        Assert.Equal((BpfMapType.Hash, 4u, 8u, 64u, 1u, "maps"), (hash.Type, hash.KeySize, hash.ValueSize, hash.MaxEntries, hash.Flags, hash.SectionName));
        var array = spec.Maps["legacy_array"];
        Assert.Equal((BpfMapType.Array, 4u, 16u, 2u, 0u), (array.Type, array.KeySize, array.ValueSize, array.MaxEntries, array.Flags));
        Assert.Equal(0x060100u, spec.KernelVersion);
        var refs = spec.Programs["legacy_user"].References;
        Assert.Equal(new[] { "legacy_hash", "legacy_array" }, refs.Select(r => r.Target));
        Assert.All(refs, r => Assert.Equal(ReferenceKind.MapFd, r.Kind));
    }

    [SkippableFact]
    public void CiliumBenchmarkObjectWithLegacyMapParses()
    {
        string path = "/work/shared/bench/cilium-manyprogs-el.elf";
        string relative = Path.Combine(Fixtures.RepositoryRoot, "..", "shared", "bench", "cilium-manyprogs-el.elf");
        if (File.Exists(relative)) path = relative;
        Skip.IfNot(File.Exists(path), "shared/bench/cilium-manyprogs-el.elf is not present");
        var spec = CollectionSpec.Load(path);
        // shared/README.md: 30 kprobe programs, 90 CO-RE field-byte-offset relocations, one hash map in a legacy section.
        Assert.Equal(30, spec.Programs.Count);
        Assert.All(spec.Programs.Values, p => Assert.Equal(BpfProgramType.Kprobe, p.Type));
        Assert.Equal(90, spec.Programs.Values.Sum(p => p.CoreRelocations.Length));
        Assert.All(spec.Programs.Values.SelectMany(p => p.CoreRelocations), r => Assert.Equal(CoreRelocationKind.FieldByteOffset, r.Kind));
        var map = Assert.Single(spec.Maps.Values);
        Assert.Equal(("kprobe_map", BpfMapType.Hash, 4u, 8u, 128u), (map.Name, map.Type, map.KeySize, map.ValueSize, map.MaxEntries)); // bytes of the 'maps' section
        Assert.All(spec.Programs.Values, p => Assert.Contains(p.References, r => r.Kind == ReferenceKind.MapFd && r.Target == "kprobe_map"));
    }

    [SkippableFact]
    public void GlobalDataBecomesInternalArrayMaps()
    {
        var spec = Load("global_data");
        Assert.Equal(new[] { "out", ".data", ".rodata", ".data.custom", ".rodata.custom", ".bss", ".rodata.str1.1" }, spec.Maps.Keys);
        var data = spec.Maps[".data"];
        // counter = 7, static_data = 3, hidden_data = 5: 12 bytes in .data, little-endian, in declaration order.
        Assert.Equal((BpfMapType.Array, 4u, 12u, 1u, true, false), (data.Type, data.KeySize, data.ValueSize, data.MaxEntries, data.IsInternal, data.Freeze));
        Assert.Equal(new byte[] { 7, 0, 0, 0, 3, 0, 0, 0, 5, 0, 0, 0 }.OrderBy(b => b), data.InitialValue!.OrderBy(b => b));
        Assert.Equal(1u << 10, data.Flags); // BPF_F_MMAPABLE: it has a non-static global
        var rodata = spec.Maps[".rodata"];
        Assert.True(rodata.Freeze);
        Assert.Equal((1u << 7) | (1u << 10), rodata.Flags); // BPF_F_RDONLY_PROG | BPF_F_MMAPABLE
        Assert.Null(spec.Maps[".bss"].InitialValue);
        Assert.Equal(8u + 64u, spec.Maps[".bss"].ValueSize); // total (u64) + zeroes[64]
        Assert.Equal(new byte[] { 42, 0, 0, 0 }, spec.Maps[".data.custom"].InitialValue);
        Assert.Equal(new byte[] { 9, 0, 0, 0 }, spec.Maps[".rodata.custom"].InitialValue);
        Assert.All(spec.Maps.Values.Where(m => m.IsInternal), m => Assert.Equal(0u, m.KeyTypeId));
        Assert.All(spec.Maps.Values.Where(m => m.IsInternal && m.Name != ".rodata.str1.1"), m => Assert.Equal(BtfKind.Datasec, spec.Btf!.GetKind(m.ValueTypeId)));
        // String literals: read-only, frozen, but no DATASEC, so no value type and not mmapable.
        var literals = spec.Maps[".rodata.str1.1"];
        Assert.Equal((0u, 1u << 7, true), (literals.ValueTypeId, literals.Flags, literals.Freeze));
        Assert.Equal("literal %d\n\0", System.Text.Encoding.ASCII.GetString(literals.InitialValue!));
        Assert.Contains(spec.Programs["use_globals"].References, r => r is { Kind: ReferenceKind.MapValue, Target: ".rodata.str1.1", Offset: 0 });
    }

    [SkippableFact]
    public void HiddenGlobalsAreStaticInTheFixedBtf()
    {
        var spec = Load("global_data");
        var btf = spec.Btf!;
        var hidden = btf.FindByName("hidden_data").Select(btf.GetType).OfType<BtfVar>().Single();
        var counter = btf.FindByName("counter").Select(btf.GetType).OfType<BtfVar>().Single();
        Assert.Equal(BtfLinkage.Static, hidden.Linkage);
        Assert.Equal(BtfLinkage.Global, counter.Linkage);
        var sub = Load("subprogs").Btf!;
        Assert.Equal(BtfLinkage.Static, sub.FindByName("hidden_helper").Select(sub.GetType).OfType<BtfFunc>().Single().Linkage);
        Assert.Equal(BtfLinkage.Global, sub.FindByName("global_helper").Select(sub.GetType).OfType<BtfFunc>().Single().Linkage);
    }

    [SkippableFact]
    public void DatasecsGetSizesAndOffsetsFromTheElf()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        string path = Fixtures.Path("global_data");
        var spec = CollectionSpec.Load(path);
        var elf = ElfFile.Load(path);
        var btf = spec.Btf!;
        foreach (var name in new[] { ".data", ".rodata", ".bss", ".data.custom", ".rodata.custom" })
        {
            var sec = btf.FindByName(name).Select(btf.GetType).OfType<BtfDatasec>().Single();
            Assert.True(elf.TryGetSection(name, out var section));
            Assert.Equal((uint)section.Size, sec.ByteSize);
            Assert.True(sec.Variables.Select(v => v.Offset).SequenceEqual(sec.Variables.Select(v => v.Offset).Order()), "sorted by offset");
            foreach (var v in sec.Variables)
            {
                var var = (BtfVar)btf.GetType(v.TypeId);
                if (var.Linkage == BtfLinkage.Static && !var.Name.StartsWith("hidden", StringComparison.Ordinal)) continue;
                Assert.Equal(elf.Symbols.Single(s => s.Name == var.Name).Value, v.Offset);
            }
        }
    }

    [SkippableFact]
    public void ExternsAreSortedAndLaidOutLikeLibbpf()
    {
        var spec = Load("externs");
        // libbpf's cmp_externs: kconfig first, by alignment (descending), size (ascending), name; then ksyms by name.
        Assert.Equal(new[]
        {
            "CONFIG_BPFPS_DOES_NOT_EXIST", "CONFIG_BPF_JIT", "CONFIG_HZ", "LINUX_KERNEL_VERSION", "CONFIG_BPF_SYSCALL", "CONFIG_LOCALVERSION",
            "bpf_cast_to_kern_ctx", "bpf_prog_active", "bpf_task_acquire", "bpfps_missing_var",
        }, spec.Externs.Select(e => e.Name));
        var k = spec.Externs.ToDictionary(e => e.Name);
        Assert.Equal((0u, 8u, true), (k["CONFIG_BPFPS_DOES_NOT_EXIST"].Offset, k["CONFIG_BPFPS_DOES_NOT_EXIST"].Size, k["CONFIG_BPFPS_DOES_NOT_EXIST"].IsWeak));
        Assert.Equal((8u, 12u, 16u, 20u, 21u), (k["CONFIG_BPF_JIT"].Offset, k["CONFIG_HZ"].Offset, k["LINUX_KERNEL_VERSION"].Offset, k["CONFIG_BPF_SYSCALL"].Offset, k["CONFIG_LOCALVERSION"].Offset));
        Assert.Equal(16u, k["CONFIG_LOCALVERSION"].Size);
        Assert.All(spec.Externs.Take(6), e => Assert.Equal(ExternKind.Kconfig, e.Kind));
        Assert.All(spec.Externs.Skip(6), e => Assert.Equal(ExternKind.Ksym, e.Kind));
        Assert.Equal(0u, k["bpf_task_acquire"].TypeId);        // typeless
        Assert.Equal(BtfKind.Int, spec.Btf!.GetKind(k["bpf_prog_active"].TypeId));
        Assert.Equal(BtfKind.FuncProto, spec.Btf.GetKind(k["bpf_cast_to_kern_ctx"].TypeId));
        Assert.True(k["bpfps_missing_var"].IsWeak);

        var kconfig = spec.Maps[".kconfig"];
        Assert.Equal((37u, true, true, (1u << 7) | (1u << 10)), (kconfig.ValueSize, kconfig.Freeze, kconfig.IsInternal, kconfig.Flags));

        var read = spec.Programs["read_externs"].References;
        Assert.Contains(read, r => r is { Kind: ReferenceKind.MapValue, Target: ".kconfig", Offset: 16 }); // LINUX_KERNEL_VERSION
        Assert.Contains(read, r => r is { Kind: ReferenceKind.MapValue, Target: ".kconfig", Offset: 12 }); // CONFIG_HZ
        Assert.Contains(read, r => r is { Kind: ReferenceKind.KsymVariable, Target: "bpf_task_acquire" });
        Assert.Contains(read, r => r is { Kind: ReferenceKind.KsymVariable, Target: "bpfps_missing_var" });
        Assert.Contains(spec.Programs["read_ksym_var"].References, r => r is { Kind: ReferenceKind.KsymVariable, Target: "bpf_prog_active" });
        var kfunc = Assert.Single(spec.Programs["call_kfunc"].References);
        Assert.Equal((ReferenceKind.KsymFunction, "bpf_cast_to_kern_ctx"), (kfunc.Kind, kfunc.Target));
        Assert.True(spec.Programs["call_kfunc"].Instructions[kfunc.Index].IsCall);
    }

    [SkippableFact]
    public void KsymsDatasecIsRewrittenForTheKernel()
    {
        var btf = Load("externs").Btf!;
        var ksyms = btf.FindByName(".ksyms").Select(btf.GetType).OfType<BtfDatasec>().Single();
        var dummy = btf.FindByName("dummy_ksym").Select(btf.GetType).OfType<BtfVar>().Single();
        Assert.Equal((uint)ksyms.Variables.Length * 4, ksyms.ByteSize);
        for (int i = 0; i < ksyms.Variables.Length; i++)
        {
            Assert.Equal(((uint)i * 4, 4u), (ksyms.Variables[i].Offset, ksyms.Variables[i].Size));
            var v = Assert.IsType<BtfVar>(btf.GetType(ksyms.Variables[i].TypeId));
            Assert.Equal(BtfLinkage.Global, v.Linkage);
        }
        Assert.Contains(ksyms.Variables, v => v.TypeId == dummy.Id);
        Assert.Equal(dummy.Id, btf.NextTypeId - 1); // appended last
        var kfunc = btf.FindByName("bpf_cast_to_kern_ctx").Select(btf.GetType).OfType<BtfFunc>().Single();
        Assert.Equal(BtfLinkage.Global, kfunc.Linkage);
        var proto = (BtfFuncProto)btf.GetType(kfunc.ProtoTypeId);
        Assert.All(proto.Parameters, p => Assert.NotEqual("", p.Name));
    }

    [SkippableFact]
    public void SubprogramsAreAppendedDepthFirstInCallOrder()
    {
        var spec = Load("subprogs");
        var btf = spec.Btf!;
        string[] Functions(string program) => spec.Programs[program].FuncInfos.Select(f => btf.GetName(f.TypeId)).ToArray();
        // entry_one calls middle_a (which calls leaf), then global_helper; libbpf appends each callee when first met
        // and links it at once (depth first).
        Assert.Equal(new[] { "entry_one", "middle_a", "leaf", "global_helper" }, Functions("entry_one"));
        Assert.Equal(new[] { "entry_two", "hidden_helper", "middle_b", "leaf", "middle_a" }, Functions("entry_two"));
        Assert.Equal(new[] { "entry_loop", "loop_body", "global_helper" }, Functions("entry_loop"));
        Assert.Equal(new[] { "entry_plain" }, Functions("entry_plain"));

        // Every BPF-to-BPF call and callback now lands on the start of a function that func_info lists.
        foreach (var p in spec.Programs.Values)
        {
            var starts = p.FuncInfos.Select(f => f.InstructionOffset).ToHashSet();
            for (int i = 0; i < p.Instructions.Length; i++)
            {
                var insn = p.Instructions[i];
                if (insn.IsPseudoCall || (insn.IsLoadImm64 && insn.Src == 4))
                    Assert.Contains(i + insn.Immediate + 1, starts);
                if (insn.IsLoadImm64) i++;
            }
            Assert.All(p.LineInfos, l => Assert.InRange(l.InstructionOffset, 0, p.Instructions.Length - 1));
            Assert.True(p.LineInfos.Select(l => l.InstructionOffset).Distinct().Count() >= p.FuncInfos.Length);
        }
        // The callback's ld_imm64 was marked BPF_PSEUDO_FUNC.
        Assert.Contains(spec.Programs["entry_loop"].Instructions, i => i.IsLoadImm64 && i.Src == 4);
    }

    /// <summary>Every R_BPF_64_64 relocation llvm-readelf reports inside an entry point is a reference on that instruction.</summary>
    [SkippableTheory]
    [InlineData("multi_prog")]
    [InlineData("btf_maps")]
    [InlineData("global_data")]
    [InlineData("externs")]
    [InlineData("legacy_maps")]
    public void ReferencesSitWhereLlvmReadelfPutsRelocations(string fixture)
    {
        string? readelf = Fixtures.FindTool("llvm-readelf-14");
        Skip.IfNot(Fixtures.ClangAvailable && readelf is not null, "clang-14 and llvm-readelf-14 are needed");
        string path = Fixtures.Path(fixture);
        var spec = CollectionSpec.Load(path);
        var elf = ElfFile.Load(path);
        var (code, output, _) = Fixtures.Run(readelf!, "-r", "-W", path);
        Assert.Equal(0, code);

        int checkedCount = 0;
        foreach (var block in Regex.Split(output, @"^Relocation section '", RegexOptions.Multiline).Skip(1))
        {
            string relName = block[..block.IndexOf('\'')];
            if (!relName.StartsWith(".rel", StringComparison.Ordinal)) continue;
            string target = relName[4..];
            foreach (Match m in Regex.Matches(block, @"^([0-9a-f]{16})\s+[0-9a-f]{16}\s+R_BPF_64_64\s+[0-9a-f]{16}\s+(\S+)", RegexOptions.Multiline))
            {
                int sectionIndex = (int)(ulong.Parse(m.Groups[1].Value, NumberStyles.HexNumber, CultureInfo.InvariantCulture) / 8);
                string symbol = m.Groups[2].Value;
                var owner = elf.Symbols.Where(s => s.Type == ElfSymbolType.Func && elf.Sections[s.SectionIndex].Name == target
                        && (ulong)sectionIndex * 8 >= s.Value && (ulong)sectionIndex * 8 < s.Value + s.Size)
                    .SingleOrDefault();
                if (owner.Name is null || !spec.Programs.TryGetValue(owner.Name, out var program)) continue;
                int index = sectionIndex - (int)(owner.Value / 8);
                var reference = program.References.SingleOrDefault(r => r.Index == index);
                var sym = elf.Symbols.First(s => s.Name == symbol || (s.Type == ElfSymbolType.Section && elf.Sections[s.SectionIndex].Name == symbol));
                if (sym.IsInSection && elf.Sections[sym.SectionIndex].IsExecutable) continue; // callback address, linked already
                Assert.True(reference != default, $"{owner.Name}: no reference at instruction {index} for '{symbol}'");
                string expectedTarget = sym.IsUndefined ? (reference.Kind == ReferenceKind.MapValue ? ".kconfig" : symbol)
                    : elf.Sections[sym.SectionIndex].Name is ".maps" or "maps" ? symbol : elf.Sections[sym.SectionIndex].Name;
                Assert.Equal(expectedTarget, reference.Target);
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 0);
    }

    [SkippableFact]
    public void StaticVariableOffsetComesFromTheInstruction()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        string path = Fixtures.Path("global_data");
        var spec = CollectionSpec.Load(path);
        var elf = ElfFile.Load(path);
        // counter (global, offset from its symbol) and static_data (section symbol + imm): their offsets in .data.
        ulong counter = elf.Symbols.Single(s => s.Name == "counter").Value;
        var refs = spec.Programs["use_globals"].References.Where(r => r.Target == ".data").Select(r => r.Offset).ToHashSet();
        Assert.Contains((uint)counter, refs);
        Assert.Equal(3, refs.Count); // counter, static_data, hidden_data each at their own offset
        Assert.All(refs, o => Assert.True(o < 12 && o % 4 == 0));
    }
}
