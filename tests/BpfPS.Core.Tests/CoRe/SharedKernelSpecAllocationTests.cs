using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// Once the kernel spec is warm, relocating a collection allocates in proportion to the object, not to vmlinux: CO-RE
/// reads kernel types through read-only lookups and never copies them (cilium/ebpf once copied kernel types per load:
/// ~116 MB for a many-program collection).
/// </summary>
public class SharedKernelSpecAllocationTests
{
    [SkippableFact]
    public void WarmRelocationAllocatesLittleAndDecodesNothingNew()
    {
        Skip.IfNot(File.Exists(KernelBtf.VmlinuxPath), $"{KernelBtf.VmlinuxPath} not present: the kernel has no BTF");
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("core_fields"));
        var kernel = KernelBtf.GetVmlinux();
        var options = new CollectionOptions { TargetBtf = kernel };
        var environment = ProgramRelocator.CreateEnvironment(spec, options);
        ProgramRelocator.RelocateAll(spec, environment); // warm: decodes the few kernel types this object touches
        int decoded = kernel.DecodedTypeCount;

        long before = GC.GetAllocatedBytesForCurrentThread();
        var relocated = ProgramRelocator.RelocateAll(spec, environment);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.NotEmpty(relocated["core_fields"].CoreRelocations);
        Assert.Equal(decoded, kernel.DecodedTypeCount);
        long objectBytes = new FileInfo(Fixtures.Path("core_fields")).Length;
        long rawKernel = kernel.RawBytes.Length;
        // Proportional to the object: a few times its size, and a vanishing fraction of the kernel's BTF.
        Assert.True(allocated < 4 * objectBytes, $"relocating {objectBytes} bytes of object allocated {allocated} bytes");
        Assert.True(allocated < rawKernel / 50, $"relocation allocated {allocated} bytes against {rawKernel} bytes of kernel BTF");
    }
}
