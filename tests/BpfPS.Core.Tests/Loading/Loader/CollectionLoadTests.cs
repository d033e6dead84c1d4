using System.Buffers.Binary;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

public class CollectionLoadTests
{
    public static TheoryData<string, string> FixturePrograms()
    {
        var data = new TheoryData<string, string>();
        foreach (var fixture in LoaderTestSupport.AllFixtures().Except(LoaderTestSupport.RejectedFixtures))
        {
            var source = File.ReadAllText(Fixtures.SourcePath(fixture));
            // Entry points are the functions after a SEC("...") line; the spec is the authority, this only lists cases.
            // SEC("?...") programs are off by default, some meant to be refused: AutoloadTests covers them.
            foreach (var name in System.Text.RegularExpressions.Regex.Matches(source, @"SEC\(""[^""?][^""]*""\)\s*int\s+(\w+)\s*\(").Select(m => m.Groups[1].Value))
                data.Add(fixture, name);
        }
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(FixturePrograms))]
    public void EachProgramLoadsAndIsVisibleToTheKernel(string fixture, string program)
    {
        var spec = LoaderTestSupport.Spec(fixture);
        Assert.True(spec.Programs.ContainsKey(program), $"{fixture} has no program '{program}' (has {string.Join(", ", spec.Programs.Keys)})");
        Collection collection;
        try
        {
            collection = Collection.Load(Equivalence(spec, program), new CollectionOptions { PinPath = PinRoot() });
        }
        catch (BpfLoadException e)
        {
            LoaderTestSupport.SkipIfRefusedByThisKernel(e);
            Skip.If(e.ErrorNumber == Errno.ENOENT && e.VerifierLog?.Contains("failed to find the address for kernel symbol") == true,
                $"this kernel has no kallsyms address for the typed ksym {program} reads (built without CONFIG_KALLSYMS_ALL); libbpf fails alike");
            throw;
        }
        using (collection)
        {
            var loaded = collection.Programs[program];
            var info = BpfSyscall.GetProgramInfo(loaded.Fd);
            Assert.Equal(loaded.Id, info.Id);
            Assert.Equal(loaded.Tag, info.Tag);
            Assert.Equal(spec.Programs[program].Type, info.Type);
            Assert.Equal(MapNaming.Truncate(program), info.Name);
            Assert.Contains(loaded.Id, BpfSyscall.ProgramIds());
            Assert.Equal(loaded.InstructionCount * 8, loaded.RawInstructions.Length);
            foreach (var map in collection.Maps.Values)
            {
                Assert.Contains(map.Id, BpfSyscall.MapIds());
                Assert.Equal(map.KernelName, BpfSyscall.GetMapInfo(map.Fd).Name);
            }
            // every map the program uses is one of ours
            Assert.All(info.MapIds, id => Assert.Contains(id, collection.Maps.Values.Select(m => m.Id)));
        }
    }

    private static CollectionSpec Equivalence(CollectionSpec spec, string program) =>
        LoadEquivalence.EquivalenceSpecs.WithPrograms(spec, [program]);

    private static string PinRoot() => LoadEquivalence.EquivalenceSpecs.Options().PinPath!;

    [SkippableFact]
    public void DisposeReleasesEveryKernelObject()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        var collection = Collection.Load(spec);
        var programIds = collection.Programs.Values.Select(p => p.Id).ToArray();
        var mapIds = collection.Maps.Values.Select(m => m.Id).ToArray();
        uint btfId = collection.BtfId;
        Assert.Equal(4, programIds.Length);
        Assert.NotEqual(0u, btfId);
        Assert.Contains(btfId, BpfSyscall.BtfIds());

        collection.Dispose();
        collection.Dispose(); // idempotent
        Assert.True(collection.IsDisposed);
        Assert.All(programIds, id => Assert.True(LoaderTestSupport.Gone(BpfSyscall.ProgramGetFdById, id), $"program {id} still exists"));
        Assert.All(mapIds, id => Assert.True(LoaderTestSupport.Gone(i => BpfSyscall.MapGetFdById(i), id), $"map {id} still exists"));
        Assert.True(LoaderTestSupport.Gone(BpfSyscall.BtfGetFdById, btfId), $"BTF {btfId} still exists");
    }

    [SkippableFact]
    public void ProgramsRunAndWriteTheirMaps()
    {
        using var collection = Collection.Load(LoaderTestSupport.Spec("multi_prog"));
        var packet = new byte[64];
        Assert.Equal(2u, collection.Programs["xdp_first"].TestRun(packet).ReturnValue);   // XDP_PASS
        Assert.Equal(1u, collection.Programs["xdp_second"].TestRun(packet).ReturnValue);  // XDP_DROP
        collection.Programs["socket_second"].TestRun(packet, repeat: 3);

        var hits = collection.Maps["hits"];
        Assert.Equal(new[] { hits.Id }, BpfSyscall.GetProgramInfo(collection.Programs["xdp_first"].Fd).MapIds.ToArray());
        ulong Hits(uint slot) => BinaryPrimitives.ReadUInt64LittleEndian(hits.Lookup(BitConverter.GetBytes(slot))!);
        Assert.Equal(1UL, Hits(0));
        Assert.Equal(1UL, Hits(1));
        Assert.Equal(0UL, Hits(2));
        Assert.Equal(3UL, Hits(3));
    }

    [SkippableFact]
    public void GlobalDataIsInitialisedAndReadOnlyDataFrozen()
    {
        using var collection = Collection.Load(LoaderTestSupport.Spec("global_data"));
        var run = collection.Programs["use_globals"].TestRun(new byte[64]);
        Assert.Equal(0u, run.ReturnValue);
        // out = counter + static_data + hidden_data + custom_value after the increments in global_data.c: 8 + 4 + 6 + 51.
        var outValue = collection.Maps["out"].Lookup(new byte[4])!;
        Assert.Equal(69UL, BinaryPrimitives.ReadUInt64LittleEndian(outValue));

        var data = collection.Maps[".data"];
        Assert.Equal("global_d.data", data.KernelName);
        Assert.Equal(BpfMapType.Array, data.Type);
        var rodata = collection.Maps[".rodata"];
        var e = Assert.Throws<BpfSyscallException>(() => rodata.Update(new byte[4], new byte[rodata.ValueSize]));
        Assert.Equal(Errno.EPERM, e.ErrorNumber); // frozen
    }

    [SkippableFact]
    public void ConstantsChangeWhatTheProgramDoes()
    {
        var spec = LoaderTestSupport.Spec("global_data");
        var options = new CollectionOptions { Constants = new Dictionary<string, object> { ["knob_pid"] = 1u, ["knob_name"] = "xyz" } };
        using var collection = Collection.Load(spec, options);
        // global_data.c: "if (knob_pid && knob_name[0] == 'x') return 1;" — the verifier sees the frozen values.
        Assert.Equal(1u, collection.Programs["use_globals"].TestRun(new byte[64]).ReturnValue);
        var rodata = collection.Maps[".rodata"].Lookup(new byte[4])!;
        Assert.Contains("xyz"u8.ToArray(), Slices(rodata, 3));

        using var limited = Collection.Load(spec, new CollectionOptions { Constants = new Dictionary<string, object> { ["knob_limit"] = 10UL } });
        limited.Programs["use_globals"].TestRun(new byte[64]); // len 64 > knob_limit: returns before writing "out"
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(limited.Maps["out"].Lookup(new byte[4])!));
    }

    private static IEnumerable<byte[]> Slices(byte[] data, int length) =>
        Enumerable.Range(0, data.Length - length + 1).Select(i => data.AsSpan(i, length).ToArray());

    [SkippableFact]
    public void MapInMapAndProgramArrayContentsAreFilled()
    {
        using var collection = Collection.Load(LoaderTestSupport.Spec("btf_maps"), new CollectionOptions { PinPath = PinRoot() });
        // use_maps tail-calls jump_table[1] = tail_target, which returns 1; without the slot it would return 0.
        Assert.Equal(1u, collection.Programs["use_maps"].TestRun(new byte[64]).ReturnValue);
        // ... and bumps inner_a[0] through outer_array[0] = inner_a.
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(collection.Maps["inner_a"].Lookup(new byte[4])!));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(collection.Maps["inner_b"].Lookup(new byte[4])!));

        var outer = collection.Maps["outer_array"];
        var slot2 = outer.Lookup(BitConverter.GetBytes(2u))!; // a map-in-map lookup from user space yields the inner map's id
        Assert.Equal(collection.Maps["inner_b"].Id, BinaryPrimitives.ReadUInt32LittleEndian(slot2));
        Assert.Null(outer.Lookup(BitConverter.GetBytes(1u)));

        Assert.Equal((uint)PossibleCpus.Count, collection.Maps["perf_events"].MaxEntries);
        Assert.Equal(BpfMapType.Ringbuf, collection.Maps["events"].Type);
    }

    [SkippableFact]
    public void ProgressIsReportedForEveryProgram()
    {
        var spec = LoaderTestSupport.Spec("subprogs");
        var reports = new List<LoadProgress>();
        using var collection = Collection.Load(spec, new CollectionOptions { Progress = new SynchronousProgress(reports.Add) });
        Assert.Equal(spec.Programs.Count + 1, reports.Count);
        Assert.Equal(spec.Programs.Keys, reports.Take(spec.Programs.Count).Select(r => r.Current));
        Assert.Equal(Enumerable.Range(0, spec.Programs.Count), reports.Take(spec.Programs.Count).Select(r => r.Done));
        Assert.Equal(new LoadProgress(spec.Programs.Count, spec.Programs.Count, null), reports[^1]);
    }

    private sealed class SynchronousProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }

    [SkippableFact]
    public void VerboseLogIsKeptOnSuccessAndDisassemblyNamesMaps()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        using var collection = Collection.Load(spec, new CollectionOptions { LogLevel = VerifierLogLevel.Basic | VerifierLogLevel.Stats });
        var program = collection.Programs["xdp_first"];
        Assert.NotNull(program.VerifierLog);
        Assert.Contains("processed", program.VerifierLog);
        var text = program.Disassemble();
        Assert.Contains("hits", text);
        Assert.Contains("exit", text);
        using var quiet = Collection.Load(spec);
        Assert.Null(quiet.Programs["xdp_first"].VerifierLog);
    }

    [SkippableFact]
    public void LegacyMapsSectionLoads()
    {
        using var collection = Collection.Load(LoaderTestSupport.Spec("legacy_maps"));
        Assert.Equal(BpfMapType.Hash, collection.Maps["legacy_hash"].Type);
        Assert.All(collection.Programs.Values, p => Assert.True(p.Id > 0));
    }

    [SkippableFact]
    public void CiliumBenchmarkObjectLoads()
    {
        KernelTestSupport.RequireBpf();
        const string path = "/work/shared/bench/cilium-manyprogs-el.elf";
        var shared = Path.Combine(Fixtures.RepositoryRoot, "..", "shared", "bench", "cilium-manyprogs-el.elf");
        var file = File.Exists(shared) ? shared : path;
        Skip.IfNot(File.Exists(file), "the shared cilium benchmark object is not present");
        using var collection = Collection.Load(CollectionSpec.Load(file));
        Assert.Equal(30, collection.Programs.Count);
        Assert.All(collection.Programs.Values, p => Assert.Equal(BpfProgramType.Kprobe, p.Type));
        Assert.All(collection.Programs.Values, p => Assert.Equal(3, p.CoreRelocations.Length));
        Assert.All(collection.Programs.Values.SelectMany(p => p.CoreRelocations), r => Assert.False(r.Poisoned, r.Description));
    }
}
