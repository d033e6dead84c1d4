using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Features;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.Loader;

namespace BpfPS.Core.Tests.Features;

/// <summary>The probes' answers against evidence that does not come from a probe: real programs, kernel BTF, statfs.</summary>
public class FeatureEvidenceTests
{
    private static readonly KernelFeatureSet Features = new();

    [SkippableFact]
    public void EveryHelperALoadedProgramCallsIsReportedAvailableForItsType()
    {
        var spec = LoaderTestSupport.Spec("feature_helpers");
        using (Collection.Load(spec)) { }   // the kernel accepts every program, with real arguments to real helpers
        int checkedCalls = 0;
        foreach (var program in spec.Programs.Values)
        {
            var type = Features.ProgramType((uint)program.Type);
            Assert.True(type.Supported, type.Detail);
            foreach (var call in program.Instructions.Where(i => i.IsCall && i.Src == 0))
            {
                var helper = Features.Helper((uint)program.Type, call.Immediate);
                Assert.True(helper.Supported, $"{program.Name} ({type.Name}) calls {helper.Name}, which the probe reports unavailable: {helper.Detail}");
                checkedCalls++;
            }
        }
        Assert.True(checkedCalls >= 10, $"only {checkedCalls} helper calls in the fixture");
    }

    [SkippableFact]
    public void AWellFormedCallTheVerifierRefusesIsReportedUnavailable()
    {
        KernelTestSupport.RequireBpf();
        int adjustHead = Features.Names.Helpers.Single(h => h.Value == "bpf_xdp_adjust_head").Key is var k ? (int)k : 0;
        // r1 = ctx (as entered), r2 = 0: bpf_xdp_adjust_head(ctx, 0); r0 = 0; exit.
        BpfInstruction[] program = [new(0xb7, 2, 0, 0, 0), new(0x85, 0, 0, 0, adjustHead), new(0xb7, 0, 0, 0, 0), new(0x95, 0, 0, 0, 0)];
        BpfSyscallException? refused = null;
        try
        {
            using var fd = BpfSyscall.ProgramLoad(new ProgramLoadRequest { Type = BpfProgramType.SocketFilter, Instructions = program, License = "GPL" }).Fd;
        }
        catch (BpfSyscallException e) { refused = e; }
        Assert.NotNull(refused);
        using (BpfSyscall.ProgramLoad(new ProgramLoadRequest { Type = BpfProgramType.Xdp, Instructions = program, License = "GPL" }).Fd) { }

        Assert.False(Features.Helper((uint)BpfProgramType.SocketFilter, adjustHead).Supported);
        Assert.True(Features.Helper((uint)BpfProgramType.Xdp, adjustHead).Supported);
    }

    [SkippableFact]
    public void EveryKindInTheKernelsOwnBtfIsAccepted()
    {
        KernelTestSupport.RequireBpf();
        var kernel = KernelBtf.GetVmlinux();
        var used = new HashSet<int>();
        for (uint id = kernel.FirstTypeId; id < kernel.NextTypeId; id++) used.Add((int)kernel.GetKind(id));
        var probed = Features.Query([FeatureCategory.BtfKind]).ToList();
        Assert.Equal(8, probed.Count);
        foreach (var kind in probed.Where(k => used.Contains((int)k.Id!.Value)))
            Assert.True(kind.Supported, $"the kernel's own BTF uses {kind.Name}, yet a blob with it is refused: {kind.Detail}");
    }

    [SkippableFact]
    public void KfuncsAreTheFuncsBpftoolSeesTaggedBpfKfunc()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(KernelTestSupport.HasTool("bpftool"), "bpftool is not installed");
        var (code, dump) = KernelTestSupport.Run("bpftool", $"btf dump file {KernelBtf.VmlinuxPath}");
        Assert.Equal(0, code);
        var expected = new SortedSet<long>();
        foreach (var line in dump.Split('\n'))
        {
            // [123] DECL_TAG 'bpf_kfunc' type_id=456 component_idx=-1
            if (!line.Contains("DECL_TAG 'bpf_kfunc'", StringComparison.Ordinal) || !line.Contains("component_idx=-1", StringComparison.Ordinal)) continue;
            var field = line.Split(' ').First(f => f.StartsWith("type_id=", StringComparison.Ordinal));
            expected.Add(long.Parse(field["type_id=".Length..], System.Globalization.CultureInfo.InvariantCulture));
        }
        var mine = Features.Query([FeatureCategory.Kfunc]).ToList();
        if (expected.Count == 0)
        {
            Assert.Single(mine);
            Assert.False(mine[0].Supported);
            return;
        }
        Assert.Equal(expected, new SortedSet<long>(mine.Select(k => k.Id!.Value)));
        Assert.All(mine, k => Assert.True(k.Supported));
    }

    /// <summary>A link kind the probe finds must have its attach function in the kernel (BTF lists the kernel's functions).</summary>
    [SkippableFact]
    public void KnownLinkKindsAndTokensHaveTheirKernelFunctions()
    {
        KernelTestSupport.RequireBpf();
        var kernel = KernelBtf.GetVmlinux();
        bool HasFunction(string name) => kernel.FindByName(name).Any(id => kernel.GetKind(id) == BtfKind.Func);
        var functions = new Dictionary<string, string>
        {
            ["cgroup"] = "cgroup_bpf_link_attach", ["netns"] = "netns_bpf_link_create", ["perf_event"] = "bpf_perf_link_attach",
            ["kprobe_multi"] = "bpf_kprobe_multi_link_attach", ["netfilter"] = "bpf_nf_link_attach", ["tcx"] = "tcx_link_attach",
            ["uprobe_multi"] = "bpf_uprobe_multi_link_attach", ["netkit"] = "netkit_link_attach", ["sockmap"] = "sock_map_link_create",
            ["bpf_token"] = "bpf_token_create",
        };
        var probed = Features.Query([FeatureCategory.LinkType, FeatureCategory.Misc], n => functions.ContainsKey(n)).ToList();
        Assert.Equal(functions.Count, probed.Count);
        foreach (var feature in probed)
            if (feature.Supported)
                Assert.True(HasFunction(functions[feature.Name]), $"{feature.Name} reported ({feature.Detail}) but the kernel has no {functions[feature.Name]}");
            else
                Assert.DoesNotContain("looked up", feature.Detail);
        // The probe reached the target lookup for at least the long-standing kinds.
        Assert.Contains(probed, f => f.Name == "cgroup" && f.Supported);
    }

    [SkippableFact]
    public void MountsAreWhatStatfsSays()
    {
        KernelTestSupport.RequireBpf();
        var mounts = Features.Query([FeatureCategory.Mount]).ToDictionary(m => m.Name);
        Assert.Equal(4, mounts.Count);
        foreach (var (name, fsType) in new[] { ("bpffs", "bpf_fs"), ("cgroup2", "cgroup2fs"), ("tracefs", "tracefs") })
        {
            var mount = mounts[name];
            if (!mount.Supported) { Assert.Null(mount.Value); continue; }
            foreach (var point in mount.Value!.Split(", "))
            {
                var (code, output) = KernelTestSupport.Run("stat", $"-f -c %T {point}");
                Assert.True(code == 0 && output.Trim() == fsType, $"{point}: statfs says '{output.Trim()}', expected {fsType}");
            }
        }
    }

    [SkippableFact]
    public void NumbersBeyondTheKernelsEnumsAreUnsupported()
    {
        KernelTestSupport.RequireBpf();
        uint nextProgramType = (uint)Features.Names.ProgramTypes.Keys.Max() + 1;
        uint nextMapType = (uint)Features.Names.MapTypes.Keys.Max() + 1;
        var program = Features.ProgramType(nextProgramType);
        var map = Features.MapType(nextMapType);
        Assert.False(program.Supported);
        Assert.Contains("EINVAL", program.Detail);
        Assert.False(map.Supported);
        Assert.Contains("EINVAL", map.Detail);
        Assert.True(Features.ProgramType((uint)BpfProgramType.SocketFilter).Supported);
    }

    [SkippableFact]
    public void EachProbeRunsOncePerSetAndFiltersApplyBeforeProbing()
    {
        KernelTestSupport.RequireBpf();
        var set = new KernelFeatureSet();
        var first = set.Query([FeatureCategory.ProgramType], n => n == "xdp").ToList();
        Assert.Single(first);
        Assert.Equal(1, set.ProbeCount);
        var again = set.Query([FeatureCategory.ProgramType, FeatureCategory.MapType], n => n is "xdp" or "hash").ToList();
        Assert.Equal(2, again.Count);
        Assert.Equal(first[0], again[0]);
        Assert.Equal(2, set.ProbeCount);
        // Helpers of one program type probe that type once and each matching helper once.
        var helpers = set.Query([FeatureCategory.Helper], n => n.StartsWith("bpf_map_", StringComparison.Ordinal), t => t == "xdp").ToList();
        Assert.NotEmpty(helpers);
        Assert.Equal(2 + helpers.Count, set.ProbeCount);
        Assert.All(helpers, h => Assert.Equal("xdp", h.ProgramType));
    }
}
