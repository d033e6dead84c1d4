using System.Text.RegularExpressions;
using BpfPS.Core.Asm;

namespace BpfPS.Core.Tests.Asm;

/// <summary>
/// The kernel's own disassembler (kernel/bpf/disasm.c, in the verifier log) is the independent source for the text of
/// each instruction: BpfDisassembler must print the same, apart from the jump targets it adds.
/// </summary>
public class VerifierLogTests
{
    private static readonly Regex LogInstruction = new(@"^\s*(\d+): (?:[.0-9]{10} )?\(([0-9a-f]{2})\) (.*?)(?:\s+;.*)?$");

    [SkippableTheory]
    [InlineData("subprogs", "entry_one")]
    [InlineData("subprogs", "entry_loop")]
    [InlineData("btf_maps", "use_maps")]
    [InlineData("global_data", "use_globals")]
    [InlineData("multi_prog", "socket_second")]
    [InlineData("multi_prog", "xdp_first")] // atomic add
    [InlineData("verifier_reject", "out_of_bounds")]
    public void InstructionTextMatchesTheVerifierLog(string fixture, string program)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);
        string path = Fixtures.Path(fixture);
        var (loaded, log) = LibbpfHarness.VerifierLog(path, program);
        // A rejected program has no dump: disassemble BpfPS's linked code, which equals libbpf's (see Loading/Parsing).
        var code = loaded?.Instructions ?? Core.Loading.CollectionSpec.Load(path).Programs[program].Instructions;

        int compared = 0;
        foreach (var line in log)
        {
            var m = LogInstruction.Match(line);
            if (!m.Success) continue;
            int index = int.Parse(m.Groups[1].Value);
            Assert.InRange(index, 0, code.Length - 1);
            Assert.Equal(m.Groups[2].Value, code[index].OpCode.ToString("x2"));
            if (code[index].IsLoadImm64) continue; // the kernel prints the map's address there
            string ours = Regex.Replace(BpfDisassembler.FormatInstruction(code, index), @" <-?\d+>", "");
            Assert.Equal(m.Groups[3].Value.TrimEnd(), ours);
            compared++;
        }
        Assert.True(compared > 5, $"only {compared} instructions found in the verifier log");
    }
}
