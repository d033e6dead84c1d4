using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

public class VerifierLogsTests
{
    private static readonly ImmutableArray<CoreRelocationResult> Relocations =
    [
        new(new CoreRelocation(3, 12, "0:1", CoreRelocationKind.FieldByteOffset), false, 4, 8, 77, "task_struct.pid: 4 -> 8"),
        new(new CoreRelocation(9, 12, "0:5", CoreRelocationKind.FieldByteOffset), true, 16, 0, 0, "task_struct.no_such_field: field not found in kernel BTF"),
    ];

    [Fact]
    public void PoisonedInstructionIsTracedToItsRelocation()
    {
        // 195896080 == 0xbad2310, as the verifier prints the unknown helper call.
        var log = "func#0 @0\n0: R1=ctx() R10=fp0\n9: (85) call unknown#195896080\ninvalid func unknown#195896080\nprocessed 10 insns\n";
        var text = VerifierLogs.ExplainPoisonedInstruction(log, Relocations);
        Assert.NotNull(text);
        Assert.Contains("instruction 9", text);
        Assert.Contains("no_such_field", text);
        Assert.DoesNotContain("task_struct.pid", text);
    }

    [Fact]
    public void UnrelatedFailuresGetNoCoreExplanation() =>
        Assert.Null(VerifierLogs.ExplainPoisonedInstruction("0: (95) exit\nR0 !read_ok\n", Relocations));

    [Fact]
    public void TailKeepsTheLastLines()
    {
        var log = string.Join('\n', Enumerable.Range(0, 100).Select(i => $"line {i}"));
        var tail = VerifierLogs.Tail(log, 3);
        Assert.Equal("line 97\nline 98\nline 99", tail);
    }
}
