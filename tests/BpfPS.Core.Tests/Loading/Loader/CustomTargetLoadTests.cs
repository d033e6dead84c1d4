using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// A custom target BTF (CollectionOptions.TargetBtf, -KernelBtf) is for CO-RE only: attach targets, kfuncs and typed
/// ksyms are ids the kernel checks against its own BTF, so they come from the running kernel.
/// </summary>
public class CustomTargetLoadTests
{
    /// <summary>A target with task_struct.pid at byte 40 (no real kernel has it there) and no btf_trace_sys_enter.</summary>
    private static BtfSpec TargetWithoutTracepoints()
    {
        var target = new BtfBuilder();
        uint intId = target.AddInt("int", 4, BtfIntEncoding.Signed);
        target.AddStruct("task_struct", 4096, new BtfMember("pid", intId, 40 * 8, 0));
        return target.BuildSpec("other-kernel.btf");
    }

    [SkippableFact]
    public void ATpBtfProgramAttachesToTheRunningKernelWhileCoreFollowsTheTarget()
    {
        var spec = LoaderTestSupport.Spec("custom_target");
        Skip.IfNot(File.Exists(KernelBtf.VmlinuxPath), "the kernel publishes no BTF");
        var target = TargetWithoutTracepoints();
        Assert.Empty(target.FindByName("btf_trace_sys_enter"));
        var vmlinux = KernelBtf.GetVmlinux();
        uint runningId = vmlinux.FindByName("btf_trace_sys_enter").Single(id => vmlinux.GetKind(id) == BtfKind.Typedef);

        Collection collection;
        try
        {
            collection = Collection.Load(spec, new CollectionOptions { TargetBtf = target });
        }
        catch (BpfLoadException e)
        {
            LoaderTestSupport.SkipIfRefusedByThisKernel(e);
            throw;
        }
        using (collection)
        {
            var program = collection.Programs["on_sys_enter"];
            // The kernel accepted the running kernel's id for the tracepoint, and reports it back.
            Assert.Equal(runningId, program.AttachBtfId);
            Assert.Equal(runningId, BpfSyscall.GetProgramInfo(program.Fd).AttachBtfId);

            // CO-RE took pid's offset from the custom target, and the instruction the kernel got carries it.
            var offset = Assert.Single(program.CoreRelocations, r => r.Relocation.Kind == CoreRelocationKind.FieldByteOffset);
            Assert.False(offset.Poisoned, offset.Description);
            Assert.Equal(40UL, offset.TargetValue);
            Assert.Equal(40, program.Instructions[offset.Relocation.InstructionOffset].Immediate);
            var runningPid = vmlinux.FindByName("task_struct").Select(vmlinux.GetType).OfType<BtfComposite>().First().Members.First(m => m.Name == "pid");
            Assert.NotEqual(40u, runningPid.BitOffset / 8);
        }
    }

    [SkippableFact]
    public void AnAttachTargetTheRunningKernelLacksIsStillAnError()
    {
        var spec = LoaderTestSupport.Spec("custom_target");
        Skip.IfNot(File.Exists(KernelBtf.VmlinuxPath), "the kernel publishes no BTF");
        spec.Programs["on_sys_enter"].AttachTo = "no_such_tracepoint_anywhere";

        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { TargetBtf = TargetWithoutTracepoints() }).Dispose());
        Assert.Equal("program 'on_sys_enter'", e.ObjectName);
        Assert.Contains("btf_trace_no_such_tracepoint_anywhere", e.Message);
    }
}
