using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// A custom target BTF (a BTFHub file for another kernel, say) replaces the running kernel's: relocations take their
/// values from it. The target here is hand-built, with task_struct.pid at an offset no real kernel uses.
/// </summary>
public class CustomTargetTests
{
    [SkippableFact]
    public void FieldOffsetsComeFromTheCustomTarget()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("core_fields"));

        var target = new BtfBuilder();
        uint intId = target.AddInt("int", 4, BtfIntEncoding.Signed);
        uint pidT = target.AddTypedef("pid_t", intId);
        target.AddStruct("task_struct", 4096, new BtfMember("pid", pidT, 40 * 8, 0));
        var options = new CollectionOptions { TargetBtf = target.BuildSpec("other-kernel.btf") };

        var relocated = ProgramRelocator.RelocateAll(spec, ProgramRelocator.CreateEnvironment(spec, options));
        var resolved = relocated["core_fields"].CoreRelocations
            .Where(r => r.Relocation.Kind == CoreRelocationKind.FieldByteOffset && !r.Poisoned).ToList();

        // Only pid exists in this target, so every offset that resolved is pid's, at 40 (vmlinux has it elsewhere).
        Assert.NotEmpty(resolved);
        Assert.All(resolved, r => Assert.Equal(40UL, r.TargetValue));
        if (!File.Exists(KernelBtf.VmlinuxPath)) return;
        var vmlinuxPid = KernelBtf.GetVmlinux().FindByName("task_struct").Select(KernelBtf.GetVmlinux().GetType)
            .OfType<BtfComposite>().First().Members.First(m => m.Name == "pid");
        Assert.NotEqual(40u, vmlinuxPid.BitOffset / 8);
    }
}
