using System.Runtime.InteropServices;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Loading.Loader;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// The CO-RE fixtures loaded into the running kernel and run with BPF_PROG_TEST_RUN: each program writes the values its
/// relocations produced into its "results" map, and the test recomputes every value independently from the kernel's BTF
/// (a plain member walk, not the CO-RE engine) or from the calling thread's ids.
/// </summary>
public sealed partial class CoreFixtureRunTests
{
    [LibraryImport("libc")] private static partial int gettid();
    [LibraryImport("libc")] private static partial int getpid();
    [LibraryImport("libc")] private static partial int getppid();

    private const ulong Done = 0xC0DE;

    [SkippableFact]
    public void FieldRelocationsMatchKernelBtfAndLiveTask()
    {
        var (slots, tid) = Run(LoaderTestSupport.Spec("core_fields"), "core_fields");
        var kernel = KernelBtf.GetVmlinux();
        var task = KernelStruct(kernel, "task_struct");
        var pid = Member(task, "pid");
        var comm = Member(task, "comm");
        var execve = Member(task, "in_execve");
        Assert.Equal(1, execve.BitfieldSize);
        uint execveWord = execve.BitOffset / 32 * 4;

        ulong[] expected =
        [
            pid.BitOffset / 8, 4, 1, 1, 0, 16, comm.BitOffset / 8 + 2, 8,
            execveWord, 4, 64 - (execve.BitOffset + 1 - execveWord * 8), 63, 0, 0,
            (ulong)tid, (ulong)getpid(), (ulong)getppid(), Done,
        ];
        Assert.Equal(expected, slots);
    }

    [SkippableFact]
    public void FlavorsAndGuardedMissingFieldsResolveAgainstKernelBtf()
    {
        var (slots, _) = Run(LoaderTestSupport.Spec("core_flavors"), "core_flavors");
        var task = KernelStruct(KernelBtf.GetVmlinux(), "task_struct");
        bool hasOldState = task.Members.Any(m => m.Name == "state");
        bool hasNewState = task.Members.Any(m => m.Name == "__state");

        ulong[] expected =
        [
            hasOldState ? 1UL : 0, hasNewState ? 1UL : 0, 0, Member(task, "tgid").BitOffset / 8, (ulong)getpid(),
            0, 0xDEAD, 0, Done,
        ];
        Assert.Equal(expected, slots);
    }

    [SkippableFact]
    public void TypeAndEnumRelocationsMatchKernelBtf()
    {
        var spec = LoaderTestSupport.Spec("core_types");
        var (slots, _) = Run(spec, "core_types");
        AssertTypeSlots(spec, slots, expectTypeMatches: false);
    }

    /// <summary>
    /// bpf_core_type_matches needs clang 15 (clang-14 cannot emit the relocation), so this variant of core_types is built
    /// with clang-15 when it is installed (build.ps1 installs it as root).
    /// </summary>
    [SkippableFact]
    public void TypeMatchesRelocationsMatchKernelBtf()
    {
        LoaderTestSupport.Spec("core_types"); // the same skips as the other loads: bpf() and clang-14 available
        string? output = Fixtures.PathBuiltWith("core_types", "clang-15");
        Skip.If(output is null, "clang-15 is not installed: clang-14 cannot emit the type_matches relocation (apt-get install clang-15)");

        var spec = CollectionSpec.Load(output);
        Assert.Contains(spec.Programs["core_types"].CoreRelocations, r => r.Kind == CoreRelocationKind.TypeMatches);
        var (slots, _) = Run(spec, "core_types");
        AssertTypeSlots(spec, slots, expectTypeMatches: true);
    }

    private static void AssertTypeSlots(CollectionSpec spec, ulong[] slots, bool expectTypeMatches)
    {
        var kernel = KernelBtf.GetVmlinux();
        var task = KernelStruct(kernel, "task_struct");
        uint localTaskId = spec.Btf!.FindByName("task_struct").Single(id => spec.Btf.GetKind(id) == BtfKind.Struct);
        var funcIds = KernelEnum(kernel, "bpf_func_id");
        var callchain = KernelEnum(kernel, "perf_callchain_context");
        Assert.True(callchain.Is64, "perf_callchain_context is an enum64 in this kernel's BTF");

        ulong[] expected =
        [
            1, 0, task.ByteSize, 0, localTaskId, task.Id, 0, 4,
            1, (ulong)funcIds.Values.Single(v => v.Name == "BPF_FUNC_ktime_get_ns").Value, 0,
            (ulong)callchain.Values.Single(v => v.Name == "PERF_CONTEXT_KERNEL").Value, 1, 0,
            expectTypeMatches ? 1UL : ulong.MaxValue, expectTypeMatches ? 0UL : ulong.MaxValue, Done,
        ];
        Assert.Equal(expected, slots);
    }

    /// <summary>Loads the spec, runs the program once on this thread, returns the result slots and this thread's id.</summary>
    private static (ulong[] Slots, int Tid) Run(CollectionSpec spec, string program)
    {
        using var collection = Collection.Load(spec);
        var results = collection.Maps["results"];
        int tid = gettid();
        // raw_tp test runs take no data and no repeat count (the kernel refuses both with EINVAL).
        var run = collection.Programs[program].TestRun(ReadOnlySpan<byte>.Empty, repeat: 0);
        Assert.Equal(tid, gettid()); // the run happened on the thread whose id we compare with
        Assert.Equal(0u, run.ReturnValue);
        var value = results.Lookup(new byte[4]) ?? throw new InvalidOperationException("results[0] missing");
        return (MemoryMarshal.Cast<byte, ulong>(value).ToArray(), tid);
    }

    private static BtfComposite KernelStruct(BtfSpec kernel, string name) =>
        kernel.FindByName(name).Select(kernel.GetType).OfType<BtfComposite>().Single(t => !t.IsUnion);

    private static BtfEnum KernelEnum(BtfSpec kernel, string name) =>
        kernel.FindByName(name).Select(kernel.GetType).OfType<BtfEnum>().Single();

    private static BtfMember Member(BtfComposite type, string name) => type.Members.Single(m => m.Name == name);

}
