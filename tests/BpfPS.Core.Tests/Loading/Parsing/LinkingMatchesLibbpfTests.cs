using BpfPS.Core.Asm;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

/// <summary>
/// The independent source for linking is libbpf 1.1 itself: after load, bpf_program__insns() returns exactly what it
/// sent to the kernel. BpfPS's linked code, with its references applied the way libbpf applies them (map fds normalised
/// to names on both sides, kernel ids of ksyms masked), must be identical instruction for instruction.
/// </summary>
public class LinkingMatchesLibbpfTests
{
    public static readonly TheoryData<string> Loadable = new() { "multi_prog", "subprogs", "btf_maps", "global_data", "externs", "sec_kinds" };

    [SkippableTheory]
    [MemberData(nameof(Loadable))]
    public void LinkedInstructionsEqualLibbpfs(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);
        string path = Fixtures.Path(fixture);
        var spec = CollectionSpec.Load(path);
        var dump = LibbpfHarness.Dump(path);
        Skip.If(dump.Programs.Count == 0, $"libbpf loaded no program of {fixture} on this kernel");

        foreach (var (name, theirs) in dump.Programs)
        {
            Assert.True(spec.Programs.TryGetValue(name, out var program), $"BpfPS has no program '{name}'");
            Assert.Equal(theirs.Section, program!.SectionName);
            var (expected, expectedMaps) = theirs.WithoutMapFds();
            var (actual, actualMaps) = ApplyLikeLibbpf(program);
            MaskKernelIds(program, expected, actual);
            Assert.True(expected.Length == actual.Length,
                $"{name}: libbpf sent {expected.Length} instructions, BpfPS linked {actual.Length}\n" + Diff(expected, actual));
            for (int i = 0; i < expected.Length; i++)
                Assert.True(expected[i] == actual[i], $"{name}: instruction {i} differs\n" + Diff(expected, actual));
            Assert.Equal(expectedMaps.OrderBy(x => x.Key), actualMaps.OrderBy(x => x.Key));
        }
    }

    /// <summary>libbpf's bpf_object__relocate_data with fd 0 for every map.</summary>
    private static (BpfInstruction[] Code, IReadOnlyDictionary<int, string> Maps) ApplyLikeLibbpf(ProgramSpec program)
    {
        var code = (BpfInstruction[])program.Instructions.Clone();
        var maps = new Dictionary<int, string>();
        foreach (var r in program.References)
        {
            switch (r.Kind)
            {
                case ReferenceKind.MapFd:
                    code[r.Index].Src = BpfPseudo.MapFd;
                    code[r.Index].Immediate = 0;
                    maps[r.Index] = r.Target;
                    break;
                case ReferenceKind.MapValue:
                    code[r.Index].Src = BpfPseudo.MapValue;
                    code[r.Index].Immediate = 0;
                    code[r.Index + 1].Immediate = (int)r.Offset;
                    maps[r.Index] = r.Target;
                    break;
                case ReferenceKind.KsymFunction:
                    code[r.Index].Src = BpfPseudo.KfuncCall;
                    break;
            }
        }
        return (code, maps);
    }

    /// <summary>Kernel BTF ids and kallsyms addresses of ksyms depend on the kernel, not on linking: compare the rest.</summary>
    private static void MaskKernelIds(ProgramSpec program, BpfInstruction[] expected, BpfInstruction[] actual)
    {
        foreach (var r in program.References)
        {
            if (r.Kind is not (ReferenceKind.KsymFunction or ReferenceKind.KsymVariable)) continue;
            if (r.Index >= expected.Length || r.Index >= actual.Length) continue;
            int slots = r.Kind == ReferenceKind.KsymVariable ? 2 : 1;
            for (int k = 0; k < slots && r.Index + k < expected.Length; k++)
            {
                expected[r.Index + k].Immediate = actual[r.Index + k].Immediate = 0;
                expected[r.Index + k].Offset = actual[r.Index + k].Offset = 0;
                if (r.Kind == ReferenceKind.KsymVariable) expected[r.Index + k].Src = actual[r.Index + k].Src = 0;
            }
        }
    }

    private static string Diff(BpfInstruction[] expected, BpfInstruction[] actual)
    {
        var lines = new List<string>();
        for (int i = 0; i < Math.Max(expected.Length, actual.Length); i++)
        {
            string e = i < expected.Length ? BpfDisassembler.FormatInstruction(expected, i) : "-";
            string a = i < actual.Length ? BpfDisassembler.FormatInstruction(actual, i) : "-";
            lines.Add($"{(e == a && i < expected.Length && i < actual.Length && expected[i] == actual[i] ? "  " : "!!")} {i,4}: libbpf {e,-45} bpfps {a}");
        }
        return string.Join('\n', lines);
    }
}
