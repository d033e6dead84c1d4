using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>Shared set-up for tests that load fixtures into the kernel.</summary>
internal static class LoaderTestSupport
{
    /// <summary>Fixtures that exist to be refused (verifier rejection, unguarded CO-RE poison).</summary>
    public static readonly string[] RejectedFixtures = ["verifier_reject", "core_unguarded", "parallel_reject"];

    /// <summary>Skips unless bpf() works and clang can build the fixtures; returns the fixture's parsed spec.</summary>
    public static CollectionSpec Spec(string fixture)
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        return CollectionSpec.Load(Fixtures.Path(fixture));
    }

    /// <summary>Options whose pins go to a fresh bpffs directory that <paramref name="pinDirectory"/> names (caller deletes it).</summary>
    public static CollectionOptions OptionsWithPrivatePins(out string pinDirectory)
    {
        pinDirectory = KernelTestSupport.RequireBpfFsDirectory();
        return new CollectionOptions { PinPath = pinDirectory };
    }

    /// <summary>Skips the test when the kernel refused a program type outright (EPERM with no verifier log).</summary>
    public static void SkipIfRefusedByThisKernel(BpfLoadException e)
    {
        Skip.If(e.ErrorNumber == Errno.EPERM && e.VerifierLog is null && Environment.IsPrivilegedProcess,
            $"this kernel refuses {e.ObjectName} with EPERM and an empty verifier log (fentry/fexit/fmod_ret/lsm are not permitted here)");
    }

    public static IEnumerable<string> AllFixtures() =>
        Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot, "tests", "fixtures"), "*.c").Select(Path.GetFileNameWithoutExtension).Order()!;

    /// <summary>True until the kernel forgets the object with this id (freeing is asynchronous: poll briefly).</summary>
    public static bool Gone(Func<uint, BpfFd> open, uint id)
    {
        for (int i = 0; i < 100; i++)
        {
            try { open(id).Dispose(); }
            catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT) { return true; }
            Thread.Sleep(20);
        }
        return false;
    }
}
