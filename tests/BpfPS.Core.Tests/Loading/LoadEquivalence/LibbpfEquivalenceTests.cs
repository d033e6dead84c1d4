using System.Collections.Immutable;
using System.Text;
using BpfPS.Core.Asm;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.LoadEquivalence;

/// <summary>
/// For every fixture, the instructions BpfPS hands to BPF_PROG_LOAD must be the ones libbpf 1.1 hands over (read back
/// with bpf_program__insns() by tests/harness/libbpf_dump), once map fds are replaced by map names. Programs libbpf
/// cannot load here must fail with BpfPS too, and programs libbpf skips (autoload off) BpfPS must skip.
/// </summary>
public class LibbpfEquivalenceTests
{
    public static TheoryData<string> FixtureNames()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot, "tests", "fixtures"), "*.c").Order())
            data.Add(Path.GetFileNameWithoutExtension(file));
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(FixtureNames))]
    public void InstructionsMatchLibbpf(string fixture)
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);

        string path = Fixtures.Path(fixture);
        var spec = CollectionSpec.Load(path);
        Skip.If(spec.Maps.Values.Any(m => m.SectionName == "maps"),
            $"{fixture} uses a legacy 'maps' section, which libbpf 1.x refuses to open (BpfPS loads it: see CollectionLoadTests)");
        Skip.If(spec.Maps.Values.Any(m => m.StructOps?.UsesLink == true),
            $"{fixture} declares '.struct_ops.link' maps, which libbpf 1.1 predates (1.2 added them): its struct_ops programs go unrelocated there");
        Skip.If(spec.Programs.Values.Any(p => p.SectionName.StartsWith("uprobe.multi", StringComparison.Ordinal) || p.SectionName.StartsWith("uretprobe.multi", StringComparison.Ordinal)),
            $"{fixture} has uprobe.multi programs, a section libbpf 1.1 predates");
        var libbpf = LibbpfHarness.Dump(path);

        // Programs libbpf refused must be refused by BpfPS as well, each on its own; except sections libbpf 1.1 does not
        // know yet (SEC("netfilter") came with libbpf 1.2), which it cannot load and BpfPS does.
        foreach (var (name, errno) in libbpf.Failures)
        {
            if (spec.Programs[name].SectionName == "netfilter") continue;
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(EquivalenceSpecs.WithPrograms(spec, [name]), EquivalenceSpecs.Options()).Dispose());
            Assert.Equal($"program '{name}'", e.ObjectName);
            Assert.Equal(-errno, e.ErrorNumber);
        }

        Assert.Equal(spec.Programs.Count, libbpf.Programs.Count + libbpf.Failures.Count + libbpf.Skipped.Count);
        Assert.Equal(libbpf.Skipped, spec.Programs.Values.Where(p => !p.AutoLoad).Select(p => p.Name));
        if (libbpf.Programs.Count == 0) return; // e.g. a fixture that exists to be rejected: the failures above were compared

        // The programs libbpf loaded, chosen as libbpf chose them: the whole object when it loaded at once (autoload
        // decides), else those programs by name.
        var options = EquivalenceSpecs.Options();
        using var collection = libbpf.Failures.Count == 0
            ? Collection.Load(spec, options)
            : Collection.Load(EquivalenceSpecs.WithPrograms(spec, libbpf.Programs.Keys.Concat(libbpf.Skipped)), new CollectionOptions { PinPath = options.PinPath, Programs = libbpf.Programs.Keys.ToList() });
        Assert.Equal(libbpf.Programs.Keys.Order(), collection.Programs.Keys.Order());
        Assert.Equal(libbpf.Skipped, collection.SkippedPrograms);
        var mapNameByFd = collection.Maps.Values.ToDictionary(m => m.Fd.Value, m => m.Name);
        var report = new StringBuilder();
        foreach (var (name, theirs) in libbpf.Programs)
        {
            var ours = collection.Programs[name];
            var (expected, expectedMaps) = theirs.WithoutMapFds();
            var (actual, actualMaps) = LibbpfHarness.WithoutMapFds(BpfInstructions.FromBytes(ours.RawInstructions), mapNameByFd);
            Assert.NotEmpty(expected);
            EquivalenceSpecs.Compare(name, expected, expectedMaps, actual, actualMaps, report);
        }
        Assert.True(report.Length == 0, $"{fixture}: BpfPS differs from libbpf 1.1:\n{report}");
    }
}

/// <summary>Helpers for loading part of a fixture and describing differences.</summary>
internal static class EquivalenceSpecs
{
    /// <summary>Pins go to a private bpffs directory so they never meet the harness's (which pins under /sys/fs/bpf).</summary>
    public static CollectionOptions Options() => new() { PinPath = PinRoot.Value, RegisterStructOps = false };

    private static readonly Lazy<string> PinRoot = new(() =>
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, true); } catch (IOException) { } };
        return dir;
    });

    /// <summary>
    /// The spec with only <paramref name="programs"/> (as libbpf with autoload off for the others): prog-array slots that
    /// name a program left out are dropped, as the harness's per-program mode cannot fill them either.
    /// </summary>
    public static CollectionSpec WithPrograms(CollectionSpec spec, IEnumerable<string> programs)
    {
        var keep = programs.ToHashSet();
        var maps = new Dictionary<string, MapSpec>();
        foreach (var (name, map) in spec.Maps)
        {
            if (map.Type != Core.Kernel.BpfMapType.ProgArray || map.Contents.All(c => keep.Contains(c.TargetName))) { maps[name] = map; continue; }
            maps[name] = new MapSpec
            {
                Name = map.Name, Type = map.Type, KeySize = map.KeySize, ValueSize = map.ValueSize, MaxEntries = map.MaxEntries,
                Flags = map.Flags, NumaNode = map.NumaNode, MapExtra = map.MapExtra, Pinning = map.Pinning, KeyTypeId = map.KeyTypeId,
                ValueTypeId = map.ValueTypeId, InnerMap = map.InnerMap, InitialValue = map.InitialValue, SectionName = map.SectionName,
                IsInternal = map.IsInternal, Freeze = map.Freeze,
                Contents = map.Contents.Where(c => keep.Contains(c.TargetName)).ToImmutableArray(),
            };
        }
        return new CollectionSpec
        {
            Path = spec.Path, Maps = maps, Btf = spec.Btf, Externs = spec.Externs, License = spec.License, KernelVersion = spec.KernelVersion,
            Programs = spec.Programs.Where(p => keep.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value),
        };
    }

    /// <summary>Appends a precise description of every difference (count, maps, instruction by instruction).</summary>
    public static void Compare(string program, BpfInstruction[] expected, IReadOnlyDictionary<int, string> expectedMaps,
        BpfInstruction[] actual, IReadOnlyDictionary<int, string> actualMaps, StringBuilder report)
    {
        if (expected.Length != actual.Length)
            report.AppendLine($"  {program}: libbpf sent {expected.Length} instructions, BpfPS {actual.Length}");
        for (int i = 0; i < Math.Min(expected.Length, actual.Length); i++)
        {
            if (expected[i] != actual[i])
                report.AppendLine($"  {program}[{i}]: libbpf {expected[i]} ({Text(expected, i)}), BpfPS {actual[i]} ({Text(actual, i)})");
        }
        foreach (var (index, map) in expectedMaps)
            if (!actualMaps.TryGetValue(index, out var ours) || ours != map)
                report.AppendLine($"  {program}[{index}]: libbpf refers to map '{map}', BpfPS to '{ours ?? "(no map)"}'");
        foreach (var index in actualMaps.Keys.Except(expectedMaps.Keys))
            report.AppendLine($"  {program}[{index}]: BpfPS refers to map '{actualMaps[index]}', libbpf to none");
    }

    private static string Text(BpfInstruction[] code, int i)
    {
        try { return BpfDisassembler.FormatInstruction(code, i); }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or BpfFormatException) { return "?"; }
    }
}

public class EquivalenceComparisonTests
{
    [Fact]
    public void EveryKindOfDifferenceIsReported()
    {
        BpfInstruction[] a = [new(0xb7, 0, 0, 0, 1), new(0x95, 0, 0, 0, 0)];
        BpfInstruction[] b = [new(0xb7, 0, 0, 0, 2), new(0x95, 0, 0, 0, 0), new(0x95, 0, 0, 0, 0)];
        var report = new StringBuilder();
        EquivalenceSpecs.Compare("p", a, new Dictionary<int, string> { [0] = "m" }, b, new Dictionary<int, string> { [0] = "n", [1] = "o" }, report);
        var text = report.ToString();
        Assert.Contains("libbpf sent 2 instructions, BpfPS 3", text);
        Assert.Contains("p[0]: libbpf b7 00 0000 00000001", text);
        Assert.Contains("libbpf refers to map 'm', BpfPS to 'n'", text);
        Assert.Contains("BpfPS refers to map 'o', libbpf to none", text);

        var same = new StringBuilder();
        EquivalenceSpecs.Compare("p", a, new Dictionary<int, string>(), a, new Dictionary<int, string>(), same);
        Assert.Equal(0, same.Length);
    }
}
