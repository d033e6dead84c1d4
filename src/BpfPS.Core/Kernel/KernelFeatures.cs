using System.Runtime.InteropServices;
using BpfPS.Core.Asm;

namespace BpfPS.Core.Kernel;

/// <summary>Kernel features libbpf probes for, probed the same way once per process (for LINUX_HAS_* kconfig externs).</summary>
public static class KernelFeatures
{
    /// <summary>BPF_FUNC_get_attach_cookie (uapi bpf.h).</summary>
    private const int GetAttachCookieHelper = 174;

    private static readonly Lazy<bool> s_bpfCookie = new(ProbeBpfCookie);
    private static readonly Lazy<bool> s_syscallWrapper = new(ProbeSyscallWrapper);

    /// <summary>The kernel has bpf_get_attach_cookie (libbpf probe_kern_bpf_cookie: a kprobe program calling it loads).</summary>
    public static bool HasBpfCookie => s_bpfCookie.Value;

    /// <summary>Syscalls go through arch wrappers such as __x64_sys_bpf (so kprobes on syscalls must use them).</summary>
    public static bool HasSyscallWrapper => s_syscallWrapper.Value;

    private static bool ProbeBpfCookie()
    {
        try
        {
            using var fd = BpfSyscall.ProgramLoad(new ProgramLoadRequest
            {
                Type = BpfProgramType.Kprobe,
                Instructions = new[] { new BpfInstruction(0x85, 0, 0, 0, GetAttachCookieHelper), new BpfInstruction(0x95, 0, 0, 0, 0) },
                License = "GPL",
                RetryWithLogOnFailure = false,
            }).Fd;
            return true;
        }
        catch (BpfSyscallException)
        {
            return false;
        }
    }

    /// <summary>
    /// libbpf 1.1 checks by opening a kprobe on the wrapper, which fails on kernels without kprobes even when the wrapper
    /// exists; the symbol in /proc/kallsyms answers the actual question.
    /// </summary>
    private static bool ProbeSyscallWrapper()
    {
        string? prefix = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => "x64",
            Architecture.Arm64 => "arm64",
            Architecture.S390x => "s390x",
            _ => null,
        };
        if (prefix is null) return false;
        string symbol = $" __{prefix}_sys_bpf";
        try
        {
            foreach (var line in File.ReadLines("/proc/kallsyms"))
                if (line.EndsWith(symbol, StringComparison.Ordinal) || line.Contains(symbol + "\t", StringComparison.Ordinal)) return true;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return false;
    }
}
