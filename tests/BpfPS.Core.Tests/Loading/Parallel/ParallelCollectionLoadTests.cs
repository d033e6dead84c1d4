using BpfPS.Core.Asm;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.Loader;

namespace BpfPS.Core.Tests.Loading.Parallel;

/// <summary>
/// A collection's programs loaded on several threads give what a one-by-one load gives: the same instructions, logs,
/// prog-array slots and progress; and on failure the same error, with nothing left behind (fault injection included).
/// </summary>
[Collection(DescriptorCountingCollection.Name)]
public class ParallelCollectionLoadTests
{
    private const int Threads = 4;

    public static TheoryData<string> LoadableFixtures() => ["parallel_progs", "btf_maps", "global_data", "core_fields", "subprogs", "multi_prog"];

    [SkippableTheory]
    [MemberData(nameof(LoadableFixtures))]
    public void FinalInstructionsAreThoseOfASerialLoad(string fixture)
    {
        var spec = LoaderTestSupport.Spec(fixture);
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var pins);
        try
        {
            using var serial = Collection.Load(spec, With(options, 1));
            using var parallel = Collection.Load(spec, With(options, Threads));
            Assert.Equal(serial.Programs.Keys, parallel.Programs.Keys);
            foreach (var (name, expected) in serial.Programs)
            {
                var actual = parallel.Programs[name];
                Assert.Equal(Normalised(serial, expected.Instructions), Normalised(parallel, actual.Instructions));
                Assert.Equal(expected.Tag, actual.Tag); // the kernel's hash of the final program, map fds masked
            }
        }
        finally
        {
            Directory.Delete(pins, true);
        }
    }

    [SkippableFact]
    public void SlotsLogsAndProgressAreThoseOfASerialLoad()
    {
        var spec = LoaderTestSupport.Spec("parallel_progs");
        var reports = new List<LoadProgress>();
        var progress = new SynchronousProgress(reports.Add);
        using var serial = Collection.Load(spec, new CollectionOptions { MaxParallelism = 1, LogLevel = VerifierLogLevel.Basic });
        using var parallel = Collection.Load(spec, new CollectionOptions { MaxParallelism = Threads, LogLevel = VerifierLogLevel.Basic, Progress = progress });

        // jumps[1] = target_b (defined after the prog array, loaded on any thread) answers dispatch's tail call.
        Assert.Equal(7u, parallel.Programs["dispatch"].TestRun(new byte[64]).ReturnValue);
        foreach (var (name, program) in parallel.Programs)
        {
            Assert.False(string.IsNullOrEmpty(program.VerifierLog), $"{name} has no verifier log");
            Assert.Equal(ProcessedLine(serial.Programs[name].VerifierLog!), ProcessedLine(program.VerifierLog!));
        }
        int total = spec.Programs.Count;
        Assert.Equal(total + 1, reports.Count);
        Assert.Equal(Enumerable.Range(0, total + 1), reports.Select(r => r.Done));
        Assert.All(reports, r => Assert.Equal(total, r.Total));
        Assert.Null(reports[^1].Current);
        Assert.All(reports.Take(total), r => Assert.Contains(r.Current!, spec.Programs.Keys));
    }

    [SkippableFact]
    public void TheErrorNamesTheFirstRefusedProgramInObjectOrder()
    {
        var spec = LoaderTestSupport.Spec("parallel_reject");
        var serial = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { MaxParallelism = 1 }));
        Assert.Equal("program 'slow_reject'", serial.ObjectName);
        for (int attempt = 0; attempt < 5; attempt++)
        {
            int fdsBefore = KernelTestSupport.OpenFdCount();
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { MaxParallelism = Threads }));
            Assert.Equal(serial.ObjectName, e.ObjectName);
            Assert.Equal(serial.ErrorNumber, e.ErrorNumber);
            Assert.Contains("invalid access to map value", e.VerifierLog);
            Assert.Equal(fdsBefore, KernelTestSupport.OpenFdCount());
        }
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    [InlineData(15)]
    public void AFaultAtAnyProgramUndoesWhatEveryThreadLoaded(int ordinal)
    {
        var spec = LoaderTestSupport.Spec("parallel_progs");
        var names = spec.Programs.Keys.ToHashSet();
        using (Collection.Load(spec, new CollectionOptions { MaxParallelism = Threads })) { } // lazy caches fill here
        var before = OurPrograms(names);
        int fdsBefore = KernelTestSupport.OpenFdCount();
        int loadCalls = 0;
        BpfLoadException e;
        using (BpfFaultInjection.Inject((c, n) =>
        {
            if (c != BpfCommand.ProgLoad) return null;
            loadCalls = n;
            return n >= ordinal ? Errno.ENOMEM : null;
        }))
            e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { MaxParallelism = Threads }));

        Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
        Assert.Matches("^program '", e.ObjectName);
        Assert.True(loadCalls >= ordinal);
        Assert.Equal(fdsBefore, KernelTestSupport.OpenFdCount());
        List<uint> left = [];
        for (int i = 0; i < 40; i++)
        {
            left = OurPrograms(names).Except(before).ToList();
            if (left.Count == 0) break;
            Thread.Sleep(50);
        }
        Assert.True(left.Count == 0, $"the kernel still holds programs [{string.Join(", ", left)}] of the failed load");
    }

    [SkippableFact]
    public void WithEveryLoadFailingTheErrorIsTheFirstProgramsWhateverThreadFailedFirst()
    {
        var spec = LoaderTestSupport.Spec("parallel_progs");
        var first = spec.Programs.Keys.First();
        for (int attempt = 0; attempt < 5; attempt++)
        {
            using (BpfFaultInjection.FailFrom(BpfCommand.ProgLoad, 1, Errno.E2BIG))
            {
                var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { MaxParallelism = Threads }));
                Assert.Equal($"program '{first}'", e.ObjectName);
            }
        }
    }

    private static CollectionOptions With(CollectionOptions o, int threads) => new() { PinPath = o.PinPath, MaxParallelism = threads };

    /// <summary>Map fds (which differ between two loads) replaced by the map's name index.</summary>
    private static BpfInstruction[] Normalised(Collection collection, IReadOnlyList<BpfInstruction> instructions)
    {
        var names = collection.Maps.Values.ToDictionary(m => m.Fd.Value, m => m.Name);
        var order = collection.Maps.Keys.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i);
        var copy = instructions.ToArray();
        for (int i = 0; i < copy.Length; i++)
            if (copy[i].IsLoadImm64 && copy[i].Src is BpfPseudo.MapFd or BpfPseudo.MapValue && names.TryGetValue(copy[i].Immediate, out var name))
                copy[i].Immediate = -1 - order[name];
        return copy;
    }

    private static string ProcessedLine(string log) => log.Split('\n').LastOrDefault(l => l.StartsWith("processed ", StringComparison.Ordinal)) ?? log;

    private static HashSet<uint> OurPrograms(HashSet<string> names) =>
        BpfInventory.Programs().Where(p => names.Contains(p.Name)).Select(p => p.Id).ToHashSet(); // all names under 16 bytes

    /// <summary>IProgress that runs on the reporting thread (System.Progress posts to the thread pool).</summary>
    private sealed class SynchronousProgress(Action<LoadProgress> report) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value) => report(value);
    }
}
