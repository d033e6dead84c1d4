using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Loading.Loader;
using Xunit.Abstractions;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// Loads without CAP_BPF / CAP_SYS_ADMIN / CAP_PERFMON: the suite's own test assembly is run again in a child process
/// started through setpriv with every capability dropped (as root, and as nobody), running only
/// <see cref="UnprivilegedChildProbe"/>, which checks that the core refuses with a permission error saying what is needed.
/// (With kernel.unprivileged_bpf_disabled at 1 or 2, bpf() then refuses everything; at 0 an unprivileged socket filter
/// could load, so the probe loads a tracing fixture, which always needs CAP_BPF + CAP_PERFMON.)
/// The child's pipes are descriptors of this process: it runs apart from the tests that count them.
/// </summary>
[Collection(DescriptorCountingCollection.Name)]
public class PrivilegeDropTests(ITestOutputHelper output)
{
    public const string ChildVariable = "BPFPS_PRIVILEGE_CHILD";

    public static TheoryData<string, string> Identities() => new()
    {
        { "root without capabilities", "--inh-caps=-all --bounding-set=-all" },
        { "nobody without capabilities", "--reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all" },
    };

    [SkippableTheory]
    [MemberData(nameof(Identities))]
    public void LoadWithoutCapabilitiesIsAPermissionErrorThatSaysWhatIsNeeded(string identity, string setprivArguments)
    {
        Skip.If(Environment.GetEnvironmentVariable(ChildVariable) is not null, "this is the child process");
        Skip.IfNot(Environment.IsPrivilegedProcess, "dropping capabilities for a child needs a root parent");
        string? setpriv = Fixtures.FindTool("setpriv");
        Skip.If(setpriv is null, "setpriv (util-linux) is not installed");
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        string fixture = Fixtures.Path("core_fields");               // built here, read by the child
        string assembly = typeof(PrivilegeDropTests).Assembly.Location;
        string dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : Fixtures.FindTool("dotnet") ?? "dotnet";
        if (identity.StartsWith("nobody", StringComparison.Ordinal))
            Skip.IfNot(WorldReadable(assembly) && WorldReadable(fixture), "the test build or fixtures are not readable by nobody");

        var arguments = setprivArguments.Split(' ').Concat(["--", dotnet, "test", assembly, "--filter", "FullyQualifiedName~UnprivilegedChildProbe"]).ToArray();
        var start = new System.Diagnostics.ProcessStartInfo(setpriv!) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetTempPath() };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        start.Environment[ChildVariable] = fixture;
        start.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();     // nobody has no home to write the CLI's first-run files to
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var child = System.Diagnostics.Process.Start(start)!;
        var stderr = child.StandardError.ReadToEndAsync();
        string stdout = child.StandardOutput.ReadToEnd();
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(3)), "the child test run did not finish in 3 minutes");
        output.WriteLine(stdout + stderr.Result);

        Assert.True(child.ExitCode == 0, $"child ({identity}) failed:\n{stdout}\n{stderr.Result}");
        Assert.Matches(@"Failed:\s+0, Passed:\s+2, Skipped:\s+0", stdout);    // both probes ran (not skipped) and passed
    }

    private static bool WorldReadable(string path)
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(path)!); dir is not null; dir = dir.Parent)
            if ((dir.UnixFileMode & UnixFileMode.OtherExecute) == 0) return false;
        return (File.GetUnixFileMode(path) & UnixFileMode.OtherRead) != 0;
    }
}

/// <summary>Runs only inside the child that <see cref="PrivilegeDropTests"/> starts without capabilities.</summary>
public class UnprivilegedChildProbe
{
    private static string Fixture()
    {
        string? fixture = Environment.GetEnvironmentVariable(PrivilegeDropTests.ChildVariable);
        Skip.If(fixture is null, "runs only in the capability-less child process that PrivilegeDropTests starts");
        return fixture!;
    }

    [SkippableFact]
    public void SyscallLayerReportsItselfUnavailableAndWhy()
    {
        Fixture();
        Assert.False(BpfSyscall.IsAvailable);
        Assert.Contains("CAP_BPF", BpfSyscall.UnavailableReason);
    }

    [SkippableFact]
    public void CollectionLoadIsAPermissionErrorNamingTheCapabilities()
    {
        string fixture = Fixture();
        var e = Assert.Throws<BpfLoadException>(() => Collection.LoadFile(fixture));
        Assert.True(e.IsPermissionDenied, e.ToString());
        Assert.Equal(Errno.EPERM, e.ErrorNumber);
        Assert.Equal(fixture, e.ObjectPath);
        Assert.Contains("CAP_BPF", e.Message);
        Assert.DoesNotContain("although this process is privileged", e.Message);
    }
}
