using BpfPS.Core.Btf;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>Relocating without loading: what Get-BpfCollectionSpec shows, built with no bpf() calls.</summary>
public class RelocationEnvironmentTests
{
    [SkippableFact]
    public void KsymsAreResolvedAgainstKernelBtfAndKallsyms()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        Skip.IfNot(File.Exists(KernelBtf.VmlinuxPath), "no kernel BTF");
        Skip.IfNot(Environment.IsPrivilegedProcess, "/proc/kallsyms shows addresses only to root");
        var spec = CollectionSpec.Load(Fixtures.Path("externs"));
        var environment = ProgramRelocator.CreateEnvironment(spec);

        var kfunc = environment.Ksyms["bpf_cast_to_kern_ctx"];
        Assert.Equal(KsymKind.Function, kfunc.Kind);
        Assert.True(kfunc.IsResolved);
        var vmlinux = KernelBtf.GetVmlinux();
        Assert.Equal(BtfKind.Func, vmlinux.GetKind(kfunc.KernelBtfId));
        Assert.Equal("bpf_cast_to_kern_ctx", vmlinux.GetName(kfunc.KernelBtfId));

        var typeless = environment.Ksyms["bpf_task_acquire"];
        Assert.Equal(KsymKind.TypelessVariable, typeless.Kind);
        var line = File.ReadLines("/proc/kallsyms").First(l => l.Split(' ', '\t')[2] == "bpf_task_acquire");
        Assert.Equal(Convert.ToUInt64(line[..line.IndexOf(' ')], 16), typeless.Address);

        var missing = environment.Ksyms["bpfps_missing_var"];
        Assert.False(missing.IsResolved); // weak: left at zero
        Assert.Equal(0UL, missing.Address);

        var relocated = ProgramRelocator.RelocateAll(spec, environment);
        Assert.Equal(spec.Programs.Keys.Order(), relocated.Keys.Order());
    }

    [SkippableFact]
    public void ACustomTargetBtfIsWhatCoreRelocatesAgainst()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("core_fields"));
        var empty = new BtfBuilder();
        empty.AddInt("int", 4, BtfIntEncoding.Signed);
        var options = new CollectionOptions { TargetBtf = empty.BuildSpec("empty-target") };

        var relocated = ProgramRelocator.RelocateAll(spec, ProgramRelocator.CreateEnvironment(spec, options));
        var results = relocated["core_fields"].CoreRelocations;
        Assert.NotEmpty(results);
        // Nothing named task_struct exists in this target: field offsets are poisoned, existence checks say 0.
        Assert.Contains(results, r => r.Poisoned);
        Assert.All(results.Where(r => r.Relocation.Kind == CoreRelocationKind.FieldByteOffset), r => Assert.True(r.Poisoned, r.Description));

        KernelTestSupport.RequireBpf();
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options));
        Assert.Contains("poisoned by CO-RE relocation", e.Message);
    }
}
