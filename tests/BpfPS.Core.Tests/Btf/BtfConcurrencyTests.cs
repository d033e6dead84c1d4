using System.Collections.Concurrent;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>A spec is shared by many threads: decoding publishes one instance per id, and nothing already handed out changes.</summary>
public class BtfConcurrencyTests
{
    private static BtfSpec MakeSpec(int structs)
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint prev = i32;
        for (int i = 0; i < structs; i++)
        {
            uint ptr = b.Ptr(prev);
            prev = b.Struct($"s{i}", 16, ("next", ptr, 0, 0), ("value", i32, 64, 0), ("flags", i32, 96, 0));
            b.Typedef($"s{i}_t", prev);
        }
        return b.Parse();
    }

    private static string Describe(BtfType t) => t switch
    {
        BtfComposite c => $"{t}:{string.Join(",", c.Members)}",
        BtfReference r => $"{t}->{r.TypeId}",
        _ => t.ToString(),
    };

    [Fact]
    public void SnapshotIsUnchangedByConcurrentLookups() => AssertSnapshotSurvives(MakeSpec(3000), namesToLookUp: 200);

    [SkippableFact]
    public void VmlinuxSnapshotIsUnchangedByConcurrentLookups()
    {
        Skip.IfNot(File.Exists(KernelBtf.VmlinuxPath), "no /sys/kernel/btf/vmlinux on this machine");
        AssertSnapshotSurvives(BtfSpec.LoadFile(KernelBtf.VmlinuxPath), namesToLookUp: 500);
    }

    private static void AssertSnapshotSurvives(BtfSpec spec, int namesToLookUp)
    {
        // A sample decoded up front, and its contents as text.
        var sample = Enumerable.Range(0, 400).Select(i => spec.FirstTypeId + (uint)(i * 7 % spec.TypeCount)).Distinct().ToArray();
        var instances = sample.ToDictionary(id => id, spec.GetType);
        var contents = sample.ToDictionary(id => id, id => Describe(instances[id]));
        int decodedBefore = spec.DecodedTypeCount;
        Assert.Equal(sample.Length, decodedBefore);

        // Names to look up, and ids some threads decode for the first time while others read.
        var names = Enumerable.Range(0, namesToLookUp).Select(i => spec.GetName(spec.FirstTypeId + (uint)(i * 13 % spec.TypeCount)))
            .Where(n => n.Length > 0).Distinct().ToArray();
        var fresh = Enumerable.Range(0, 300).Select(i => spec.FirstTypeId + (uint)((i * 11 + 3) % spec.TypeCount))
            .Where(id => !instances.ContainsKey(id)).Distinct().ToArray();
        var seen = new ConcurrentDictionary<uint, BtfType>();
        var failures = new ConcurrentQueue<string>();

        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (int round = 0; round < 5; round++)
            {
                foreach (var name in names)
                    if (!spec.FindByName(name).Any(id => spec.GetName(id) == name))
                        failures.Enqueue($"lookup of {name}");
                for (int i = 0; i < fresh.Length; i++)
                {
                    uint id = fresh[(i + t * 37) % fresh.Length];
                    var type = spec.GetType(id);
                    if (!ReferenceEquals(seen.GetOrAdd(id, type), type))
                        failures.Enqueue($"two instances for [{id}]");
                    _ = spec.GetKind(id);
                }
                foreach (uint id in sample)
                    if (!ReferenceEquals(spec.GetType(id), instances[id]))
                        failures.Enqueue($"sample [{id}] replaced");
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());

        Assert.Empty(failures);
        foreach (uint id in sample)
        {
            Assert.Same(instances[id], spec.GetType(id));
            Assert.Equal(contents[id], Describe(spec.GetType(id)));
        }
        // Only ids that were decoded for the first time were counted, each once however many threads raced on it.
        Assert.Equal(decodedBefore + fresh.Length, spec.DecodedTypeCount);
    }

    [Fact]
    public void RacingDecodersAgreeOnOneInstance()
    {
        var spec = MakeSpec(500);
        var ids = Enumerable.Range(0, spec.TypeCount).Select(i => spec.FirstTypeId + (uint)i).ToArray();
        var results = new BtfType[8][];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            results[t] = (t % 2 == 0 ? ids : ids.Reverse()).Select(spec.GetType).OrderBy(x => x.Id).ToArray();
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        for (int t = 1; t < 8; t++)
            for (int i = 0; i < ids.Length; i++)
                Assert.Same(results[0][i], results[t][i]);
        Assert.Equal(spec.TypeCount, spec.DecodedTypeCount);
    }

    [Fact]
    public void NameIndexIsBuiltOnceUnderContention()
    {
        var spec = MakeSpec(2000);
        using var start = new Barrier(8);
        var answers = new IReadOnlyList<uint>[8];
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            answers[t] = spec.FindByName("s1999_t");
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.All(answers, a => Assert.Equal(answers[0], a));
        Assert.Single(answers[0]);
        Assert.Same(spec.NameIndex, spec.NameIndex);
    }
}
