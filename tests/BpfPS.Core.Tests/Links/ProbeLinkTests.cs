using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Tests.Kernel;
using static BpfPS.Core.Tests.Links.LinkFixture;

namespace BpfPS.Core.Tests.Links;

/// <summary>uprobes, uretprobes, uprobe_multi and perf events in the real kernel, on a native program built for the test.</summary>
public class ProbeLinkTests
{
    [SkippableFact]
    public void UprobeAndUretprobeCountCallsOfTheTargetFunctionAndStop()
    {
        using var f = Load();
        using var target = ProbeTarget.Build();
        f.FilterThread(0); // the calls come from the target process
        var entry = UprobeLinks.Attach(f["count_uprobe"], target.Path, ProbeTarget.Function);
        var exit = UprobeLinks.Attach(f["count_uretprobe"], target.Path, ProbeTarget.Function, returnProbe: true);
        try
        {
            Assert.Equal(BpfLinkType.PerfEvent, entry.Type);
            target.Run(13);
            Assert.Equal(13ul, f.Count(Slot.Uprobe));
            Assert.Equal(13ul, f.Count(Slot.Uretprobe));
            var seen = SystemLink.TryGet(entry.Id)!;
            Assert.Equal(BpfPerfEventType.Uprobe, seen.Info!.PerfEventType);
            Assert.Equal(target.Path, seen.Info.Name);
            Assert.Equal(NativeElfSymbols.FileOffset(target.Path, ProbeTarget.Function), (ulong)seen.Info.Offset);
            Assert.Equal(BpfPerfEventType.Uretprobe, SystemLink.TryGet(exit.Id)!.Info!.PerfEventType);
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(entry);
            NetworkTestKit.DisposeAndWait(exit);
        }
        target.Run(5);
        Assert.Equal(13ul, f.Count(Slot.Uprobe));
        Assert.Equal(13ul, f.Count(Slot.Uretprobe));
    }

    [SkippableFact]
    public void UprobeLimitedToAProcessIgnoresOthers()
    {
        using var f = Load();
        using var target = ProbeTarget.Build();
        // A pid that is not running the target: its calls are not counted.
        using var link = UprobeLinks.Attach(f["count_uprobe"], target.Path, ProbeTarget.Function, pid: Environment.ProcessId);
        Assert.Contains($"pid {Environment.ProcessId}", link.Target);
        target.Run(6);
        Assert.Equal(0ul, f.Count(Slot.Uprobe));
    }

    [SkippableFact]
    public void UprobeErrorsNameTheMissingBinaryOrFunction()
    {
        using var f = Load();
        using var target = ProbeTarget.Build();
        var noFile = Assert.Throws<LinkAttachException>(() => UprobeLinks.Attach(f["count_uprobe"], "/nonexistent/bpfps-binary", "main"));
        Assert.Contains("no such file", noFile.Message);
        Assert.Equal(Errno.ENOENT, noFile.ErrorNumber);
        var noFunction = Assert.Throws<LinkAttachException>(() => UprobeLinks.Attach(f["count_uprobe"], target.Path, "no_such_function_here"));
        Assert.Contains("no function 'no_such_function_here'", noFunction.Message);
        Assert.Equal("count_uprobe", noFunction.ProgramName);
        var wrongType = Assert.Throws<LinkAttachException>(() => UprobeLinks.Attach(f["count_tp"], target.Path, ProbeTarget.Function));
        Assert.Contains("cannot attach to a uprobe", wrongType.Message);
    }

    [SkippableFact]
    public void UprobeMultiCountsCallsOfSeveralFunctionsInOneLink()
    {
        using var f = Load("links_uprobe_multi");
        using var target = ProbeTarget.Build();
        KernelLink link;
        try
        {
            link = UprobeLinks.AttachMulti(f["count_uprobe_multi"], target.Path, [ProbeTarget.Function, ProbeTarget.OtherFunction]);
        }
        catch (LinkAttachException e) when (e.ErrorNumber is Errno.EINVAL or Errno.EOPNOTSUPP && KernelVersion.Current < new Version(6, 6))
        {
            Skip.If(true, $"uprobe_multi links need Linux 6.6: {e.Message}");
            return;
        }
        try
        {
            Assert.Equal(BpfLinkType.UprobeMulti, link.Type);
            target.Run(8);
            Assert.Equal(9ul, f.Count(0u)); // 8 calls of one function, 1 of the other
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        target.Run(8);
        Assert.Equal(9ul, f.Count(0u));
    }

    [SkippableFact]
    public void SoftwarePerfEventRunsOnEveryCpuAndStops()
    {
        using var f = Load();
        var links = PerfEventLinks.AttachSoftware(f["count_perf_event"], PerfSoftwareEvent.CpuClock, 1000);
        try
        {
            Assert.Equal(PerfEventLinks.OnlineCpus().Count, links.Count);
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (f.Count(Slot.PerfEvent) < 20 && DateTime.UtcNow < deadline)
            {
                var spin = DateTime.UtcNow.AddMilliseconds(50);
                while (DateTime.UtcNow < spin) { } // keep a CPU busy so the clock samples
            }
            Assert.True(f.Count(Slot.PerfEvent) >= 20, $"only {f.Count(Slot.PerfEvent)} samples in 5 s");
            Assert.Contains("cpu-clock at 1000 Hz on cpu 0", links[0].Target);
        }
        finally
        {
            foreach (var l in links) NetworkTestKit.DisposeAndWait(l);
        }
        var stopped = f.Count(Slot.PerfEvent);
        Thread.Sleep(100);
        Assert.Equal(stopped, f.Count(Slot.PerfEvent));
    }

    [Fact]
    public void ElfSymbolOffsetsMatchNm()
    {
        Skip.IfNot(KernelTestSupport.HasTool("gcc") && KernelTestSupport.HasTool("nm"), "gcc and nm are needed");
        using var target = ProbeTarget.Build();
        var (_, nm) = KernelTestSupport.Run("nm", target.Path);
        var address = Convert.ToUInt64(nm.Split('\n').Single(l => l.EndsWith(" " + ProbeTarget.Function)).Split(' ')[0], 16);
        // A PIE's text segment is mapped at its file offset.
        Assert.Equal(address, NativeElfSymbols.FileOffset(target.Path, ProbeTarget.Function));
        Assert.Throws<KeyNotFoundException>(() => NativeElfSymbols.FileOffset(target.Path, "nope_not_here"));
        Assert.Throws<InvalidDataException>(() => NativeElfSymbols.FileOffset(Fixtures.SourcePath("links_tracing"), "main"));
    }
}
