using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Links;

/// <summary>
/// links_tracing.o loaded for one test: its counters by slot, the thread filter, and triggers (getppid on this thread,
/// a small native program with functions to probe).
/// </summary>
internal sealed partial class LinkFixture : IDisposable
{
    public enum Slot : uint { Tp, RawTp, TpBtf, Uprobe, Uretprobe, UprobeMulti, PerfEvent, TpV2, SectionUprobe }

    public Collection Collection { get; }

    private LinkFixture(Collection collection) => Collection = collection;

    public static LinkFixture Load(string fixture = "links_tracing")
    {
        KernelTestSupport.RequireBpf();
        return new LinkFixture(Collection.LoadFile(Fixtures.Path(fixture)));
    }

    public LoadedProgram this[string name] => Collection.Programs[name];

    public ulong Count(Slot slot) => Count((uint)slot);

    public ulong Count(uint slot)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, slot);
        var value = Collection.Maps["counts"].Lookup(key)!;
        return BinaryPrimitives.ReadUInt64LittleEndian(value);
    }

    /// <summary>Counts only events of thread <paramref name="tid"/> (0: any).</summary>
    public void FilterThread(int tid)
    {
        var bss = Collection.Maps[".bss"];
        var value = new byte[bss.ValueSize];
        BinaryPrimitives.WriteInt32LittleEndian(value, tid);
        bss.Update(new byte[4], value);
    }

    /// <summary>Counts only this thread's events; the test must then trigger them on this same thread.</summary>
    public void FilterThisThread() => FilterThread(GetTid());

    /// <summary>Makes <paramref name="n"/> getppid system calls from this thread.</summary>
    public static void CallGetppid(int n)
    {
        for (int i = 0; i < n; i++) GetPpid();
    }

    [LibraryImport("libc", EntryPoint = "gettid")]
    internal static partial int GetTid();

    [LibraryImport("libc", EntryPoint = "getppid")]
    private static partial int GetPpid();

    public void Dispose() => Collection.Dispose();
}

/// <summary>A native program built with gcc for uprobe tests: `target N` calls bpfps_probe_target N times.</summary>
internal sealed class ProbeTarget : IDisposable
{
    public const string Function = "bpfps_probe_target", OtherFunction = "bpfps_probe_other";
    private readonly DirectoryInfo _dir;

    public string Path { get; }

    private ProbeTarget(DirectoryInfo dir, string path)
    {
        _dir = dir;
        Path = path;
    }

    public static ProbeTarget Build()
    {
        Skip.IfNot(KernelTestSupport.HasTool("gcc"), "gcc is needed to build the uprobe target");
        var dir = Directory.CreateTempSubdirectory("bpfps-uprobe-");
        var source = System.IO.Path.Combine(dir.FullName, "target.c");
        var exe = System.IO.Path.Combine(dir.FullName, "target");
        File.WriteAllText(source, """
            #include <stdio.h>
            #include <stdlib.h>
            __attribute__((noinline)) int bpfps_probe_target(int x) { __asm__ volatile(""); return x + 1; }
            __attribute__((noinline)) int bpfps_probe_other(int x) { __asm__ volatile(""); return x * 2; }
            int main(int argc, char **argv) {
                int n = argc > 1 ? atoi(argv[1]) : 1, sum = 0;
                for (int i = 0; i < n; i++) sum += bpfps_probe_target(i);
                sum += bpfps_probe_other(n);
                printf("%d\n", sum);
                return 0;
            }
            """);
        var (code, output) = KernelTestSupport.Run("gcc", $"-O1 -o {exe} {source}");
        if (code != 0)
        {
            dir.Delete(true);
            Assert.Fail("gcc failed: " + output);
        }
        return new ProbeTarget(dir, exe);
    }

    /// <summary>Runs the target to completion: <paramref name="calls"/> calls of <see cref="Function"/>, one of <see cref="OtherFunction"/>.</summary>
    public void Run(int calls)
    {
        var (code, output) = KernelTestSupport.Run(Path, calls.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(code == 0, output);
    }

    public void Dispose() => _dir.Delete(true);
}
