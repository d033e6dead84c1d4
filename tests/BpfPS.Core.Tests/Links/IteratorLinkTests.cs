using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Links;

/// <summary>Task iterators (text and BTF records), link update and pinning in the real kernel.</summary>
public class IteratorLinkTests
{
    [SkippableFact]
    public void TaskIteratorListsThisProcessAsText()
    {
        using var f = LinkFixture.Load();
        using var link = IteratorLinks.Attach(f["dump_task"]);
        Assert.Equal(BpfLinkType.Iter, link.Type);
        Assert.Equal("iterator task", link.Target);
        var lines = IteratorLinks.RunLines(link);
        // One line per thread: "TGID COMM"; this process appears with its own pid.
        Assert.Contains(lines, l => l.StartsWith($"{Environment.ProcessId} ", StringComparison.Ordinal));
        Assert.Contains("2 kthreadd", lines);
        Assert.Equal("task", SystemLink.TryGet(link.Id)!.Info!.Name);
    }

    [SkippableFact]
    public void TaskIteratorRecordsAreDecodedThroughTheObjectsBtf()
    {
        using var f = LinkFixture.Load();
        using var link = IteratorLinks.Attach(f["dump_task_records"]);
        // Instances of the class generated for struct task_record, read as their name -> value dictionaries.
        var records = IteratorLinks.RunRecords(link, f.Collection.Spec.Btf!, "struct task_record")
            .Select(r => Assert.IsAssignableFrom<RecordObject>(r)).ToArray();
        Assert.All(records, r => Assert.StartsWith("task_record", r.GetType().Name));
        var mine = records.Select(RecordTypes.ToDictionary).Where(r => Convert.ToInt64(r["pid"]) == Environment.ProcessId).ToArray();
        Assert.NotEmpty(mine);
        Assert.Contains(mine, r => Convert.ToInt64(r["tid"]) == Environment.ProcessId); // the main thread
        Assert.Throws<KeyNotFoundException>(() => IteratorLinks.RunRecords(link, f.Collection.Spec.Btf!, "no_such_type"));
    }

    [SkippableFact]
    public void UpdateSwapsTheProgramBehindALinkAtomically()
    {
        using var f = LinkFixture.Load();
        using var link = IteratorLinks.Attach(f["dump_task"]);
        Assert.DoesNotContain(IteratorLinks.RunLines(link), l => l.StartsWith("task ", StringComparison.Ordinal));
        link.Update(f["dump_task_v2"]);
        Assert.Equal("dump_task_v2", link.ProgramName);
        Assert.Equal(f["dump_task_v2"].Id, SystemLink.TryGet(link.Id)!.ProgramId);
        Assert.Contains(IteratorLinks.RunLines(link), l => l == $"task {Environment.ProcessId}");
        // With an expected old program that is no longer attached, the kernel refuses.
        var e = Assert.Throws<LinkAttachException>(() => link.Update(f["dump_task"], expectedOld: f["dump_task"]));
        Assert.Equal("dump_task", e.ProgramName);
        Assert.Equal(f["dump_task_v2"].Id, SystemLink.TryGet(link.Id)!.ProgramId);
    }

    [SkippableFact]
    public void PerfEventLinksCannotBeUpdatedAndSaySo()
    {
        using var f = LinkFixture.Load();
        using var link = TracepointLinks.Attach(f["count_tp"], "syscalls/sys_enter_getppid");
        var e = Assert.Throws<LinkAttachException>(() => link.Update(f["count_tp_v2"]));
        Assert.NotEqual(0, e.ErrorNumber);
        Assert.Equal(f["count_tp"].Id, SystemLink.TryGet(link.Id)!.ProgramId);
    }

    [SkippableFact]
    public void APinnedLinkOutlivesItsObjectAndCanBeOpenedAgain()
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        try
        {
            using var f = LinkFixture.Load();
            f.FilterThisThread();
            var pin = Path.Combine(dir, "tp_link");
            uint id;
            using (var link = TracepointLinks.Attach(f["count_tp"], "syscalls/sys_enter_getppid"))
            {
                link.Pin(pin);
                id = link.Id;
            }
            LinkFixture.CallGetppid(5);
            Assert.Equal(5ul, f.Count(LinkFixture.Slot.Tp));
            using (var opened = KernelLink.OpenPinned(pin))
            {
                Assert.Equal(id, opened.Id);
                Assert.Equal("count_tp", opened.ProgramName);
                Assert.Equal("tracepoint sys_enter_getppid", opened.Target);
                Assert.Null(opened.Program);
                Assert.Equal(id, SystemLink.FromPin(pin).Id);
            }
            File.Delete(pin);
            // With the pin gone and no descriptor left, the kernel detaches it.
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (SystemLink.TryGet(id) is not null && DateTime.UtcNow < deadline) Thread.Sleep(20);
            Assert.Null(SystemLink.TryGet(id));
            // The kernel releases the link's hook asynchronously after the last reference goes: wait for calls to stop counting.
            bool stopped = false;
            while (!stopped && DateTime.UtcNow < deadline.AddSeconds(5))
            {
                var before = f.Count(LinkFixture.Slot.Tp);
                LinkFixture.CallGetppid(5);
                stopped = f.Count(LinkFixture.Slot.Tp) == before;
                if (!stopped) Thread.Sleep(20);
            }
            Assert.True(stopped, "the tracepoint still ran after its pin was removed");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void DisposeIsIdempotentAndThreadSafe()
    {
        using var f = LinkFixture.Load();
        var link = RawTracepointLinks.Attach(f["count_raw_tp"], "sys_enter");
        Parallel.For(0, 8, _ => link.Dispose());
        Assert.True(link.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => link.Pin("/sys/fs/bpf/x"));
    }
}
