using System.Text;
using BpfPS.Core.Asm;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.LoadEquivalence;

/// <summary>
/// A program whose autoload is off, loaded because it was asked for (CollectionOptions.Programs; libbpf:
/// bpf_program__set_autoload), gets the instructions libbpf 1.1 sends for it, or is refused with libbpf's errno.
/// </summary>
public class AutoloadEquivalenceTests
{
    public static TheoryData<string, string> AutoloadOffPrograms()
    {
        var data = new TheoryData<string, string>();
        if (!Fixtures.ClangAvailable) return data;
        foreach (var fixture in Loader.LoaderTestSupport.AllFixtures())
        {
            var path = Fixtures.Path(fixture);
            if (!File.Exists(path)) continue;
            foreach (var program in CollectionSpec.Load(path).Programs.Values.Where(p => !p.AutoLoad))
                data.Add(fixture, program.Name);
        }
        return data;
    }

    [SkippableFact]
    public void TheFixturesHaveAutoloadOffPrograms()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        Assert.Contains(AutoloadOffPrograms(), row => (string)row[0] == "autoload" && (string)row[1] == "opt_in");
    }

    [SkippableTheory]
    [MemberData(nameof(AutoloadOffPrograms))]
    public void AProgramLoadedOnRequestMatchesLibbpf(string fixture, string program)
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);
        string path = Fixtures.Path(fixture);
        var spec = CollectionSpec.Load(path);
        var libbpf = LibbpfHarness.Dump(path, program);
        var options = new CollectionOptions { PinPath = EquivalenceSpecs.Options().PinPath, Programs = [program] };

        if (libbpf.Failures.TryGetValue(program, out int errno))
        {
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options).Dispose());
            Assert.Equal($"program '{program}'", e.ObjectName);
            Assert.Equal(-errno, e.ErrorNumber);
            return;
        }

        using var collection = Collection.Load(spec, options);
        Assert.Equal([program], collection.Programs.Keys);
        var mapNameByFd = collection.Maps.Values.ToDictionary(m => m.Fd.Value, m => m.Name);
        var (expected, expectedMaps) = libbpf.Programs[program].WithoutMapFds();
        var (actual, actualMaps) = LibbpfHarness.WithoutMapFds(BpfInstructions.FromBytes(collection.Programs[program].RawInstructions), mapNameByFd);
        var report = new StringBuilder();
        EquivalenceSpecs.Compare(program, expected, expectedMaps, actual, actualMaps, report);
        Assert.True(report.Length == 0, $"{fixture}: BpfPS differs from libbpf 1.1:\n{report}");
    }
}
