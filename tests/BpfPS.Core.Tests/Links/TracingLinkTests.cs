using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using static BpfPS.Core.Tests.Links.LinkFixture;

namespace BpfPS.Core.Tests.Links;

/// <summary>Tracing attach points in the real kernel: each attached, triggered, counted, detached, and seen to stop.</summary>
public class TracingLinkTests
{
    [SkippableFact]
    public void TracepointLinkCountsExactlyTheCallsOfThisThreadAndStopsWhenDisposed()
    {
        using var f = Load();
        f.FilterThisThread();
        var link = TracepointLinks.Attach(f["count_tp"], "syscalls", "sys_enter_getppid");
        try
        {
            Assert.Equal(BpfLinkType.PerfEvent, link.Type);
            Assert.NotEqual(0u, link.Id);
            Assert.Equal("tracepoint syscalls/sys_enter_getppid", link.Target);
            CallGetppid(25);
            Assert.Equal(25ul, f.Count(Slot.Tp));
            var seen = SystemLink.TryGet(link.Id);
            Assert.NotNull(seen);
            Assert.Equal(BpfPerfEventType.Tracepoint, seen!.Info!.PerfEventType);
            Assert.Equal("sys_enter_getppid", seen.Info.Name);
            Assert.Equal(f["count_tp"].Id, seen.ProgramId);
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        CallGetppid(10);
        Assert.Equal(25ul, f.Count(Slot.Tp));
        Assert.Null(SystemLink.TryGet(link.Id));
    }

    [SkippableFact]
    public void MissingTracepointAndWrongProgramTypeAreClearErrors()
    {
        using var f = Load();
        var missing = Assert.Throws<LinkAttachException>(() => TracepointLinks.Attach(f["count_tp"], "syscalls", "sys_enter_no_such_call"));
        Assert.Equal("count_tp", missing.ProgramName);
        Assert.Contains("sys_enter_no_such_call", missing.Target);
        Assert.Equal(Errno.ENOENT, missing.ErrorNumber);
        var wrong = Assert.Throws<LinkAttachException>(() => TracepointLinks.Attach(f["count_raw_tp"], "syscalls/sys_enter_getppid"));
        Assert.Contains("RawTracepoint program cannot attach to a tracepoint", wrong.Message);
    }

    [SkippableFact]
    public void RawTracepointLinkCountsAndStops()
    {
        using var f = Load();
        f.FilterThisThread();
        var link = RawTracepointLinks.Attach(f["count_raw_tp"], "sys_enter");
        try
        {
            Assert.Equal(BpfLinkType.RawTracepoint, link.Type);
            CallGetppid(7);
            Assert.Equal(7ul, f.Count(Slot.RawTp));
            Assert.Equal("sys_enter", SystemLink.TryGet(link.Id)!.Info!.Name);
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        CallGetppid(3);
        Assert.Equal(7ul, f.Count(Slot.RawTp));

        var missing = Assert.Throws<LinkAttachException>(() => RawTracepointLinks.Attach(f["count_raw_tp"], "no_such_tracepoint_here"));
        Assert.Contains("no raw tracepoint", missing.Message);
    }

    [SkippableFact]
    public void TpBtfLinkCountsAndStops()
    {
        using var f = Load();
        f.FilterThisThread();
        var link = RawTracepointLinks.AttachTracing(f["count_tp_btf"]);
        try
        {
            // The kernel makes a raw tracepoint link for tp_btf (fentry and friends get tracing links).
            Assert.Equal(BpfLinkType.RawTracepoint, link.Type);
            Assert.Equal("sys_enter", link.Id == 0 ? null : SystemLink.TryGet(link.Id)!.Info!.Name);
            CallGetppid(9);
            Assert.Equal(9ul, f.Count(Slot.TpBtf));
        }
        finally
        {
            NetworkTestKit.DisposeAndWait(link);
        }
        CallGetppid(2);
        Assert.Equal(9ul, f.Count(Slot.TpBtf));
    }

    [SkippableFact]
    public void FentryAndFexitAttachAndRun()
    {
        KernelTestSupport.RequireBpf();
        Collection collection;
        try
        {
            collection = Collection.LoadFile(Fixtures.Path("links_fentry"));
        }
        catch (BpfPS.Core.Loading.BpfLoadException e) when (e.InnerException is BpfSyscallException { ErrorNumber: Errno.EPERM } || e.Message.Contains("EPERM"))
        {
            Skip.If(true, $"this kernel refuses fentry/fexit programs at load: {e.Message}");
            return;
        }
        using (collection)
        {
            var links = SectionLinks.AttachAll(collection.Programs.Values);
            try
            {
                Assert.Equal(2, links.Count);
                Thread.Sleep(1);
                var bss = collection.Maps[".bss"].Lookup(new byte[4])!;
                Assert.True(BitConverter.ToUInt64(bss, 0) > 0);
            }
            finally
            {
                foreach (var l in links) l.Dispose();
            }
        }
    }

    [SkippableFact]
    public void KprobeAttachFailsClearlyWhereTheKernelHasNoKprobes()
    {
        using var f = Load("links_unavailable");
        var hasKprobes = PerfEvents.PmuType("kprobe") is not null;
        if (hasKprobes)
        {
            using var link = KprobeLinks.Attach(f["second_kprobe"], "do_nanosleep");
            Assert.NotEqual(0u, link.Id);
            return;
        }
        var e = Assert.Throws<LinkAttachException>(() => KprobeLinks.Attach(f["second_kprobe"], "do_nanosleep"));
        Assert.Equal("second_kprobe", e.ProgramName);
        Assert.Equal("kprobe do_nanosleep", e.Target);
        Assert.Contains("CONFIG_KPROBES", e.Message);
        var s = Assert.Throws<LinkAttachException>(() => KprobeLinks.AttachSyscall(f["second_kprobe"], "getppid"));
        Assert.Contains("sys_getppid", s.Target);
        Skip.If(true, "kprobes: attach refused with a clear error; this kernel has no kprobe PMU (CONFIG_KPROBES is off), so nothing could run");
    }

    [SkippableFact]
    public void CollectionAttachIsAllOrNothing()
    {
        using var f = Load("links_unavailable");
        Skip.If(PerfEvents.PmuType("kprobe") is not null, "this kernel has kprobes: the kprobe program would attach, so the failure path cannot be shown this way");
        var before = SystemLink.List().Where(l => l.ProgramId == f["first_tp"].Id).Count();
        var e = Assert.Throws<LinkAttachException>(() => SectionLinks.AttachAll(f.Collection.Programs.Values));
        Assert.Equal("second_kprobe", e.ProgramName);
        Assert.Equal("kprobe do_nanosleep", e.Target);
        // The tracepoint program had been attached first: it was detached again.
        Assert.Equal(before, SystemLink.List().Count(l => l.ProgramId == f["first_tp"].Id));
        Assert.Equal(0, before);
    }

    [SkippableFact]
    public void SectionAttachSkipsProgramsWithoutTargetsAndAttachesTheRest()
    {
        using var f = Load();
        f.FilterThisThread();
        var links = SectionLinks.AttachAll(f.Collection.Programs.Values);
        try
        {
            // count_tp, count_tp_v2, count_raw_tp, count_tp_btf and the three iterators; not uprobe/uretprobe/uprobe.multi/perf_event.
            Assert.Equal(["count_tp", "count_tp_v2", "count_raw_tp", "count_tp_btf", "dump_task", "dump_task_v2", "dump_task_records"],
                links.Select(l => l.ProgramName).ToArray());
            CallGetppid(4);
            Assert.Equal(4ul, f.Count(Slot.Tp));
            Assert.Equal(4ul, f.Count(Slot.TpV2));
            Assert.Equal(4ul, f.Count(Slot.RawTp));
            Assert.Equal(4ul, f.Count(Slot.TpBtf));
        }
        finally
        {
            foreach (var l in links) NetworkTestKit.DisposeAndWait(l);
        }
        CallGetppid(4);
        Assert.Equal(4ul, f.Count(Slot.Tp));
    }

    [Theory]
    [InlineData("tracepoint/syscalls/sys_enter_openat", SectionTargetKind.Tracepoint, "syscalls/sys_enter_openat", null, 0ul, false)]
    [InlineData("tp/sched/sched_switch", SectionTargetKind.Tracepoint, "sched/sched_switch", null, 0ul, false)]
    [InlineData("raw_tp/sys_enter", SectionTargetKind.RawTracepoint, "sys_enter", null, 0ul, false)]
    [InlineData("kprobe/do_unlinkat+0x10", SectionTargetKind.Kprobe, "do_unlinkat", null, 16ul, false)]
    [InlineData("kretprobe/do_unlinkat", SectionTargetKind.Kprobe, "do_unlinkat", null, 0ul, true)]
    [InlineData("ksyscall/openat", SectionTargetKind.Ksyscall, "openat", null, 0ul, false)]
    [InlineData("uprobe//usr/bin/bash:readline", SectionTargetKind.Uprobe, "readline", "/usr/bin/bash", 0ul, false)]
    [InlineData("uretprobe/libc.so.6:malloc+4", SectionTargetKind.Uprobe, "malloc", "libc.so.6", 4ul, true)]
    [InlineData("iter/task", SectionTargetKind.Iterator, "task", null, 0ul, false)]
    [InlineData("fentry/do_unlinkat", SectionTargetKind.Tracing, "do_unlinkat", null, 0ul, false)]
    public void SectionNamesAreParsedLikeLibbpf(string section, SectionTargetKind kind, string name, string? path, ulong offset, bool isReturn)
    {
        var t = SectionLinks.Parse(section)!;
        Assert.Equal(new SectionTarget(kind, name, path, offset, isReturn), t);
    }

    [Theory]
    [InlineData("uprobe")]
    [InlineData("perf_event")]
    [InlineData("xdp")]
    [InlineData("struct_ops/tcp_init")]
    [InlineData("tc")]
    public void SectionsWithoutTargetsAreSkipped(string section) => Assert.Null(SectionLinks.Parse(section));
}
