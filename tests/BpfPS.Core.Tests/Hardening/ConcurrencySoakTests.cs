using System.Diagnostics;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.Loader;
using Xunit.Abstractions;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// 8 threads each load and dispose CO-RE fixture collections against the one shared vmlinux spec, over and over: no
/// failure, no descriptor growth, the spec unchanged (raw bytes, memoised instances and their contents) and parsed once.
/// BPFPS_SOAK_LOADS sets the loads per thread (default 100, the full soak: 800 loads take well under a second here, see docs/reliability.md).
/// </summary>
[Collection(DescriptorCountingCollection.Name)]
public class ConcurrencySoakTests(ITestOutputHelper output)
{
    private const int Threads = 8;
    private static readonly string[] CoreFixtures = ["core_fields", "core_flavors", "core_types"];

    [SkippableFact]
    public void EightThreadsLoadAndRemoveCoreCollectionsAgainstTheSharedKernelSpec()
    {
        int loadsPerThread = int.TryParse(Environment.GetEnvironmentVariable("BPFPS_SOAK_LOADS"), out var n) && n > 0 ? n : 100;
        var specs = CoreFixtures.Select(LoaderTestSupport.Spec).ToArray();
        var vmlinux = KernelBtf.GetVmlinux();                        // held for the whole test, so the weak cache keeps it
        int parsesBefore = KernelBtf.ParseCount;
        foreach (var spec in specs)
            using (Collection.Load(spec)) { }                        // warm-up: what the loads decode gets decoded now
        var snapshot = new BtfSnapshot(vmlinux, TypesOfInterest(vmlinux));
        int decodedBefore = vmlinux.DecodedTypeCount;
        int fdsBefore = OpenFdCount();

        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
        {
            for (int i = 0; i < loadsPerThread; i++)
            {
                var spec = specs[(t + i) % specs.Length];
                try
                {
                    using var collection = Collection.Load(spec);
                    if (collection.Programs.Count == 0) failures.Enqueue($"{spec.Path}: no programs");
                }
                catch (Exception e)
                {
                    failures.Enqueue($"thread {t} load {i} of {spec.Path}: {e}");
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        clock.Stop();
        int fdsAfter = OpenFdCount();

        output.WriteLine($"{Threads * loadsPerThread} loads on {Threads} threads in {clock.Elapsed.TotalSeconds:F1} s " +
            $"({clock.Elapsed.TotalMilliseconds / (Threads * loadsPerThread):F1} ms per load); fds {fdsBefore} -> {fdsAfter}; " +
            $"vmlinux parsed {KernelBtf.ParseCount - parsesBefore} more times; decoded types {decodedBefore} -> {vmlinux.DecodedTypeCount}; " +
            $"{snapshot.Count} types compared");
        Assert.Empty(failures);
        Assert.Equal(fdsBefore, fdsAfter);
        Assert.Equal(parsesBefore, KernelBtf.ParseCount);
        Assert.Same(vmlinux, KernelBtf.GetVmlinux());
        Assert.Empty(snapshot.Differences());
    }

    /// <summary>The task_struct family CO-RE resolves against, what its members refer to, and an even sample of the rest.</summary>
    private static IEnumerable<uint> TypesOfInterest(BtfSpec vmlinux)
    {
        var ids = new HashSet<uint>();
        foreach (var name in new[] { "task_struct", "bpf_func_id", "perf_callchain_context", "pid_t" })
            foreach (uint id in vmlinux.FindByName(name))
            {
                ids.Add(id);
                if (vmlinux.GetType(id) is BtfComposite c)
                    foreach (var m in c.Members) ids.Add(m.TypeId);
            }
        for (uint id = 1; id < vmlinux.NextTypeId; id += 61)
            ids.Add(id);
        return ids;
    }

    private static int OpenFdCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return KernelTestSupport.OpenFdCount();
    }
}
