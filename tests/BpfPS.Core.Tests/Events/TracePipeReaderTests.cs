using BpfPS.Core.Events;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Events;

/// <summary>trace_pipe lines, parsed from fixed text and read from a real bpf_printk.</summary>
[Collection(EventFixture.TestCollection)]
public class TracePipeReaderTests
{
    [Theory]
    [InlineData("          <idle>-0       [001] d.s31  1234.567890: bpf_trace_printk: hello world", "<idle>", 0, 1, "d.s31", 1234.567890, "hello world")]
    [InlineData(" dotnet-worker-thr-4242    [000] ..... 98765.000001: bpf_trace_printk: bpfps-events marker=5 seq=0", "dotnet-worker-thr", 4242, 0, ".....", 98765.000001, "bpfps-events marker=5 seq=0")]
    [InlineData("  a b-c-17 (   15) [003] 5.000000: bpf_trace_printk: x: y", "a b-c", 17, 3, "", 5.0, "x: y")]
    public void LinesParseIntoTheirColumns(string line, string command, int pid, int cpu, string flags, double time, string message)
    {
        var parsed = TraceLine.Parse(line);
        Assert.NotNull(parsed);
        Assert.Equal(command, parsed.Command);
        Assert.Equal(pid, parsed.ProcessId);
        Assert.Equal(cpu, parsed.Cpu);
        Assert.Equal(flags, parsed.Flags);
        Assert.Equal(time, parsed.Timestamp, 6);
        Assert.Equal("bpf_trace_printk", parsed.Function);
        Assert.Equal(message, parsed.Message);
        Assert.Equal(line, parsed.Line);
    }

    [Fact]
    public void OtherLinesAreNotTraceLines()
    {
        Assert.Null(TraceLine.Parse("CPU:1 [LOST 12 EVENTS]"));
        Assert.Null(TraceLine.Parse(""));
    }

    [SkippableFact]
    public void BpfPrintkFromATestRunIsReadAndParsed()
    {
        using var collection = EventFixture.Load();
        TracePipeReader reader;
        try
        {
            reader = new TracePipeReader();
        }
        catch (BpfEventException e)
        {
            Skip.If(true, $"trace_pipe unavailable here: {e.Message}");
            return;
        }
        using (reader)
        {
            uint marker = (uint)Environment.ProcessId;
            EventFixture.Run(collection, "printk_emit", 0, marker);
            TraceLine? found = null;
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (found is null && DateTime.UtcNow < deadline)
            {
                var line = reader.ReadLine(500);
                if (line is null) continue;
                var parsed = TraceLine.Parse(line);
                if (parsed is not null && parsed.Message.StartsWith($"bpfps-events marker={marker} ", StringComparison.Ordinal)) found = parsed;
            }
            Assert.NotNull(found);
            Assert.Contains(found.ProcessId, System.Diagnostics.Process.GetCurrentProcess().Threads.Cast<System.Diagnostics.ProcessThread>().Select(t => t.Id));
            Assert.Equal("bpf_trace_printk", found.Function);
            Assert.Matches(@"^bpfps-events marker=\d+ seq=0$", found.Message);

            var waiting = new BlockedCall<string?>(() => reader.ReadLine(-1));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            reader.Wake();
            Assert.True(waiting.Wait(1000), "Wake ends a blocked read");
            Assert.True(watch.ElapsedMilliseconds < 100, $"took {watch.ElapsedMilliseconds} ms");
            Assert.Null(waiting.Result);
        }
    }
}
