using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

public class KernelConfigTests
{
    [Fact]
    public void ParsesAssignmentsAndIgnoresCommentsLikeLibbpf()
    {
        var text = "#\n# Automatically generated file\nCONFIG_BPF=y\n# CONFIG_FOO is not set\nCONFIG_HZ=250\nCONFIG_NAME=\"x y\"\nOTHER=1\n";
        var config = KernelConfig.Parse(new StringReader(text));
        Assert.Equal(3, config.Count);
        Assert.Equal("y", config["CONFIG_BPF"]);
        Assert.Equal("250", config["CONFIG_HZ"]);
        Assert.Equal("\"x y\"", config["CONFIG_NAME"]);
        Assert.False(config.ContainsKey("CONFIG_FOO"));
    }

    [Theory]
    [InlineData("CONFIG_X\n")]
    [InlineData("CONFIG_X=\n")]
    public void MalformedLinesAreRefused(string text) =>
        Assert.Throws<FormatException>(() => KernelConfig.Parse(new StringReader(text)));

    // KERNEL_VERSION(a, b, c) from <bpf/bpf_helpers.h>: (a << 16) + (b << 8) + min(c, 255).
    [Theory]
    [InlineData("6.18.44-fc-v595", 6, 18, 44)]
    [InlineData("5.15.0", 5, 15, 0)]
    [InlineData("4.19.300-foo", 4, 19, 255)]
    public void VersionCodeFollowsKernelVersionMacro(string release, int a, int b, int c) =>
        Assert.Equal((uint)((a << 16) + (b << 8) + Math.Min(c, 255)), KernelConfig.VersionCode(release));

    [Theory]
    [InlineData("6.18")]
    [InlineData("abc")]
    [InlineData("")]
    public void VersionCodeIsZeroWithoutThreeNumbers(string release) => Assert.Equal(0u, KernelConfig.VersionCode(release));

    [SkippableFact]
    public void RunningKernelConfigAgreesWithProcConfigGz()
    {
        Skip.IfNot(File.Exists("/proc/config.gz"), "/proc/config.gz is absent on this kernel");
        Skip.If(File.Exists($"/boot/config-{KernelConfig.KernelRelease()}"), "a /boot config exists and takes precedence; this test reads /proc/config.gz");
        var config = KernelConfig.ReadSystem();
        Assert.NotNull(config);
        // Independent reading through zcat.
        var (code, output) = KernelTestSupport.Run("sh", "-c \"zcat /proc/config.gz | grep -E '^CONFIG_[A-Z0-9_]+=' \"");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(lines.Length, config!.Count);
        foreach (var line in lines.Take(200))
        {
            int eq = line.IndexOf('=');
            Assert.Equal(line[(eq + 1)..], config[line[..eq]]);
        }
    }

    [SkippableFact]
    public void ReleaseMatchesUname()
    {
        var (code, output) = KernelTestSupport.Run("uname", "-r");
        Skip.If(code != 0, "uname failed");
        Assert.Equal(output.Trim(), KernelConfig.KernelRelease());
    }
}
