using BpfPS.Core.Features;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Loading.Loader;

namespace BpfPS.Core.Tests.Features;

/// <summary>The loader names a program or map type the kernel lacks instead of passing on a bare EINVAL.</summary>
public class LoadFailureDiagnosisTests
{
    [SkippableFact]
    public void AProgramTypeTheKernelLacksIsNamed()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        uint missing = (uint)KernelFeatureSet.Shared.Names.ProgramTypes.Keys.Max() + 1;
        foreach (var program in spec.Programs.Values) program.Type = (BpfProgramType)missing;
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal(Errno.EINVAL, e.ErrorNumber);
        Assert.Contains($"this kernel cannot load program type prog_type_{missing}", e.Message);
    }

    [SkippableFact]
    public void AMapTypeTheKernelLacksIsNamed()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        uint missing = (uint)KernelFeatureSet.Shared.Names.MapTypes.Keys.Max() + 1;
        spec.Maps["hits"].Type = (BpfMapType)missing;
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal("map 'hits'", e.ObjectName);
        Assert.Contains($"this kernel cannot create map type map_type_{missing}", e.Message);
    }

    [SkippableFact]
    public void AVerifierRejectionOfASupportedTypeDoesNotBlameTheType()
    {
        var spec = LoaderTestSupport.Spec("verifier_reject");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.NotNull(e.VerifierLog);
        Assert.DoesNotContain("this kernel cannot load program type", e.Message);
    }

    [SkippableFact]
    public void AnInjectedFailureDoesNotFoolTheProbe()
    {
        var spec = LoaderTestSupport.Spec("multi_prog");
        BpfLoadException e;
        using (BpfFaultInjection.FailFrom(BpfCommand.ProgLoad, 1, Errno.EINVAL))
            e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal(Errno.EINVAL, e.ErrorNumber);
        Assert.False(e.Message.Contains("this kernel cannot load program type", StringComparison.Ordinal), e.Message);
        Assert.True(KernelFeatureSet.Shared.ProgramType((uint)BpfProgramType.Xdp).Supported);
    }

    [Fact]
    public void OnlyErrnosOfAMissingTypeAreDiagnosed()
    {
        Assert.Null(LoadFailureDiagnosis.ExplainProgramLoad((BpfProgramType)250, Errno.EACCES));
        Assert.Null(LoadFailureDiagnosis.ExplainMapCreate((BpfMapType)250, Errno.ENOMEM));
        Assert.True(LoadFailureDiagnosis.MayMeanUnsupported(Errno.EOPNOTSUPP));
    }
}
