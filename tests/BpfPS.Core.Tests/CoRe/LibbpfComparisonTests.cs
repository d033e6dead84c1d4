using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// Differential check on the CO-RE fixtures: every instruction a relocation touches must come out exactly as libbpf 1.1
/// left it (tests/harness/libbpf_dump, which loads the object against the running kernel's BTF).
/// </summary>
public class LibbpfComparisonTests
{
    private const string VmlinuxPath = "/sys/kernel/btf/vmlinux";
    private static readonly Lazy<BtfSpec> Vmlinux = new(() => BtfSpec.LoadFile(VmlinuxPath));

    [SkippableTheory]
    [InlineData("core_fields")]
    [InlineData("core_flavors")]
    [InlineData("core_types")]
    public void RelocatedInstructionsMatchLibbpf(string fixture)
    {
        SkipUnlessPossible();
        AssertSameAsLibbpf(Fixtures.Path(fixture), fixture);
    }

    /// <summary>type_matches relocations: clang-14 cannot emit them, so core_types is also built with clang-15 when present.</summary>
    [SkippableFact]
    public void TypeMatchesRelocationsMatchLibbpf()
    {
        SkipUnlessPossible();
        string? path = Fixtures.PathBuiltWith("core_types", "clang-15");
        Skip.If(path is null, "clang-15 is not installed: clang-14 cannot emit the type_matches relocation (apt-get install clang-15)");
        Assert.Contains(CollectionSpec.Load(path!).Programs["core_types"].CoreRelocations, r => r.Kind == CoreRelocationKind.TypeMatches);
        AssertSameAsLibbpf(path!, "core_types");
    }

    private static void AssertSameAsLibbpf(string path, string fixture)
    {
        var libbpf = LibbpfHarness.Dump(path, fixture).Programs[fixture].Instructions;
        var spec = CollectionSpec.Load(path);
        var program = spec.Programs[fixture];
        var instructions = program.Instructions.ToArray();

        var results = CoreRelocator.Apply(instructions, program.CoreRelocations.AsSpan(), spec.Btf!, [Vmlinux.Value]);

        Assert.NotEmpty(results);
        foreach (var result in results)
        {
            int i = result.Relocation.InstructionOffset;
            Assert.True(libbpf[i] == instructions[i], $"instruction {i}: libbpf {libbpf[i]}, BpfPS {instructions[i]} ({result.Description})");
            if (libbpf[i].IsLoadImm64 || libbpf[i] == CoreTestKit.Poison)
                Assert.True(libbpf[i + 1] == instructions[i + 1], $"instruction {i + 1}: libbpf {libbpf[i + 1]}, BpfPS {instructions[i + 1]}");
        }
    }

    [SkippableFact]
    public void UnguardedMissingFieldIsPoisonedAndLibbpfCannotLoadIt()
    {
        SkipUnlessPossible();
        string path = Fixtures.Path("core_unguarded");
        var dump = LibbpfHarness.Dump(path, "core_unguarded");
        Assert.True(dump.Failures.ContainsKey("core_unguarded"), "libbpf loaded a program whose reachable instruction is poisoned");

        var spec = CollectionSpec.Load(path);
        var program = spec.Programs["core_unguarded"];
        var instructions = program.Instructions.ToArray();
        var results = CoreRelocator.Apply(instructions, program.CoreRelocations.AsSpan(), spec.Btf!, [Vmlinux.Value]);
        var poisoned = Assert.Single(results, r => r.Poisoned);
        Assert.Equal(CoreTestKit.Poison, instructions[poisoned.Relocation.InstructionOffset]);
        Assert.Contains("task_struct___missing.no_such_field_xyz", poisoned.Description);
        Assert.Contains("field not found in kernel BTF", poisoned.Description);
    }

    private static void SkipUnlessPossible()
    {
        Skip.IfNot(File.Exists(VmlinuxPath), $"{VmlinuxPath} not present: the kernel has no BTF");
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to compile the CO-RE fixtures");
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);
    }
}
