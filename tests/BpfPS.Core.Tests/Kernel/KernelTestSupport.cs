using System.Diagnostics;
using BpfPS.Core.Asm;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

/// <summary>Conditions and small helpers shared by tests that talk to the kernel.</summary>
internal static class KernelTestSupport
{
    /// <summary>Skips the calling test unless bpf() works here (root or CAP_BPF).</summary>
    public static void RequireBpf() => Skip.IfNot(BpfSyscall.IsAvailable, BpfSyscall.UnavailableReason ?? "bpf() unavailable");

    private static readonly Lazy<string?> s_bpffs = new(MountBpfFs);

    /// <summary>
    /// Skips unless a bpffs is mounted at /sys/fs/bpf (mounting it when we are root, as the project README says), and
    /// returns a fresh directory under it that the caller must delete.
    /// </summary>
    public static string RequireBpfFsDirectory()
    {
        RequireBpf();
        Skip.IfNot(s_bpffs.Value is null, s_bpffs.Value ?? "");
        var dir = Path.Combine(BpfFileSystem.DefaultPinRoot, "bpfps-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static string? MountBpfFs()
    {
        if (BpfFileSystem.IsBpfFs(BpfFileSystem.DefaultPinRoot)) return null;
        if (!Environment.IsPrivilegedProcess) return "/sys/fs/bpf is not a bpffs and mounting one needs root";
        var (code, output) = Run("mount", "-t bpf bpf /sys/fs/bpf");
        if (BpfFileSystem.IsBpfFs(BpfFileSystem.DefaultPinRoot)) return null;
        return $"/sys/fs/bpf is not a bpffs and 'mount -t bpf bpf /sys/fs/bpf' failed ({code}): {output}";
    }

    /// <summary>Runs a program and returns its exit code and combined output.</summary>
    public static (int ExitCode, string Output) Run(string file, string arguments)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result + stderr.Result);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    public static bool HasTool(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, name)));

    /// <summary>
    /// Number of open descriptors of this process, after running pending finalizers: descriptors other tests dropped
    /// without disposing are closed by SafeHandle finalizers at unpredictable times, which would blur the count.
    /// </summary>
    public static int OpenFdCount()
    {
        for (int i = 0; i < 2; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        return Directory.GetFiles("/proc/self/fd").Length;
    }

    /// <summary>True while <paramref name="fd"/> is an open descriptor of this process.</summary>
    public static bool IsOpen(int fd) => File.Exists($"/proc/self/fd/{fd}") || Directory.Exists($"/proc/self/fd/{fd}");

    // Hand-assembled instructions (opcodes from uapi bpf.h: BPF_ALU64|BPF_MOV|BPF_K = 0xb7, BPF_JMP|BPF_EXIT = 0x95).
    public static BpfInstruction MovImm(byte dst, int imm) => new(0xb7, dst, 0, 0, imm);
    public static BpfInstruction Exit() => new(0x95, 0, 0, 0, 0);

    /// <summary>"r0 = value; exit": the smallest program the verifier accepts.</summary>
    public static BpfInstruction[] ReturnConstant(int value) => [MovImm(0, value), Exit()];

    public static BpfFd LoadSocketFilter(BpfInstruction[] code, string name = "bpfps_test") =>
        BpfSyscall.ProgramLoad(new ProgramLoadRequest
        {
            Type = BpfProgramType.SocketFilter,
            Instructions = code,
            License = "GPL",
            Name = name,
        }).Fd;
}
