using System.Text.RegularExpressions;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.LoadEquivalence;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>BTF-attached programs get attach_btf_id from kernel BTF with libbpf's name prefixes.</summary>
public class AttachTargetLoadTests
{
    [SkippableTheory]
    [InlineData("k_tp_btf", "btf_trace_sched_switch", "TYPEDEF")]
    [InlineData("k_fentry", null, "FUNC")]
    [InlineData("k_fexit", null, "FUNC")]
    [InlineData("k_fmod_ret", null, "FUNC")]
    [InlineData("k_fentry_sleepable", null, "FUNC")]
    [InlineData("k_lsm", null, "FUNC")]
    [InlineData("k_iter_task", "bpf_iter_task", "FUNC")]
    public void AttachBtfIdIsTheKernelsIdOfTheTarget(string program, string? expectedTypeName, string kind)
    {
        var spec = LoaderTestSupport.Spec("sec_kinds");
        Skip.IfNot(spec.Programs.ContainsKey(program), $"sec_kinds has no program {program}");
        var programSpec = spec.Programs[program];
        string typeName = expectedTypeName ?? (programSpec.Type == BpfProgramType.Lsm ? "bpf_lsm_" : "") + programSpec.AttachTo;

        Collection collection;
        try
        {
            collection = Collection.Load(EquivalenceSpecs.WithPrograms(spec, [program]));
        }
        catch (BpfLoadException e)
        {
            LoaderTestSupport.SkipIfRefusedByThisKernel(e);
            throw;
        }
        using (collection)
        {
            var loaded = collection.Programs[program];
            Assert.NotEqual(0u, loaded.AttachBtfId);
            Assert.Equal(loaded.AttachBtfId, BpfSyscall.GetProgramInfo(loaded.Fd).AttachBtfId);
            if (KernelTestSupport.HasTool("bpftool"))
            {
                // bpftool prints "[ID] KIND 'name' ..." for every vmlinux type: an independent id for the target.
                var (code, dump) = KernelTestSupport.Run("bpftool", "btf dump file /sys/kernel/btf/vmlinux");
                Assert.Equal(0, code);
                var match = Regex.Match(dump, $@"^\[(\d+)\] {kind} '{Regex.Escape(typeName)}'", RegexOptions.Multiline);
                Assert.True(match.Success, $"bpftool shows no {kind} '{typeName}'");
                Assert.Equal(uint.Parse(match.Groups[1].Value), loaded.AttachBtfId);
            }
        }
    }

    [SkippableFact]
    public void RefusedProgramTypesSayWhyAndNameTheProgram()
    {
        var spec = LoaderTestSupport.Spec("sec_kinds");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec).Dispose());
        Skip.If(e.ErrorNumber != Errno.EPERM, $"this kernel loads every sec_kinds program (first failure: {e.Message})");
        Assert.Contains("program 'k_", e.ObjectName);
        Assert.True(e.IsPermissionDenied);
        Assert.Contains("EPERM", e.Message);
        Assert.Contains(spec.Path, e.Message);
    }
}
