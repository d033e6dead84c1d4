using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// Minimal programs for the program-type, attach-type and helper probes: the smallest load each type accepts, with
/// the expected attach type, flags or BTF target the kernel insists on (the settings libbpf's probes use).
/// </summary>
internal static class ProgramProbes
{
    // uapi numbers the probes need (linux/bpf.h); newer than the library's 6.1 enums where noted.
    internal const uint Kprobe = 2, SchedCls = 3, CgroupSkb = 8, CgroupSock = 9, SkSkb = 14, SkMsg = 16, CgroupSockAddr = 18,
        LircMode2 = 20, SkReuseport = 21, CgroupSockopt = 25, Tracing = 26, StructOps = 27, Ext = 28, Lsm = 29, SkLookup = 30,
        Syscall = 31, Netfilter = 32;
    internal const uint AttachInet4Connect = 10, AttachGetsockopt = 21, AttachLircMode2 = 16, AttachFentry = 24, AttachLsmMac = 27,
        AttachSkLookup = 36, AttachNetfilter = 45;
    private const uint SleepableFlag = 1 << 4;    // BPF_F_SLEEPABLE

    /// <summary>r0 = <paramref name="returnValue"/>; exit.</summary>
    internal static BpfInstruction[] ReturnOnly(int returnValue = 0) =>
        [new BpfInstruction(0xb7, 0, 0, 0, returnValue), new BpfInstruction(0x95, 0, 0, 0, 0)];

    /// <summary>call helper; exit (bpftool's helper probe: the verifier checks the call before the arguments matter much).</summary>
    internal static BpfInstruction[] CallHelper(int helperId) =>
        [new BpfInstruction(0x85, 0, 0, 0, helperId), new BpfInstruction(0x95, 0, 0, 0, 0)];

    /// <summary>The load request for <paramref name="type"/> with the settings its kind requires.</summary>
    internal static ProgramLoadRequest Request(uint type, BpfInstruction[] instructions, BtfSpec? kernel, uint? expectedAttachType = null, uint logLevel = 0) =>
        new()
        {
            Type = (BpfProgramType)type,
            Instructions = instructions,
            License = "GPL",
            ExpectedAttachType = (BpfAttachType)(expectedAttachType ?? DefaultAttachType(type)),
            Flags = type == Syscall ? SleepableFlag : 0,
            AttachBtfId = AttachTarget(type, kernel),
            LogLevel = logLevel,
            LogSize = 16 * 1024,
            RetryWithLogOnFailure = false,
            KernelVersion = type == Kprobe ? KernelRelease.VersionCode : 0,
        };

    /// <summary>The expected attach type a program type must be loaded with (0 where the kernel does not care).</summary>
    internal static uint DefaultAttachType(uint type) => type switch
    {
        CgroupSockAddr => AttachInet4Connect,
        CgroupSockopt => AttachGetsockopt,
        LircMode2 => AttachLircMode2,
        SkLookup => AttachSkLookup,
        Netfilter => AttachNetfilter,
        Tracing => AttachFentry,
        Lsm => AttachLsmMac,
        _ => 0,
    };

    /// <summary>
    /// Tracing and LSM programs need a kernel function to attach to: a real one is looked up in kernel BTF, so the probe
    /// answers "can I load an fentry / lsm program here", not "does the kernel know the number".
    /// </summary>
    private static uint AttachTarget(uint type, BtfSpec? kernel)
    {
        if (kernel is null) return 0;
        string? name = type switch
        {
            Tracing => "bpf_fentry_test1",
            Lsm => "bpf_lsm_file_open",
            _ => null,
        };
        if (name is null) return 0;
        foreach (var id in kernel.FindByName(name))
            if (kernel.GetKind(id) == BtfKind.Func) return id;
        return 0;
    }

    /// <summary>
    /// False for the types whose probe load fails before the verifier looks at the calls (struct_ops and ext need a
    /// target this probe cannot give), so a helper probe would only repeat that failure.
    /// </summary>
    internal static bool HelpersProbeable(uint type) => type is not (StructOps or Ext);

    /// <summary>Loads a minimal program of <paramref name="type"/>; the errno tells the rest.</summary>
    internal static ProbeResult ProbeType(uint type, BtfSpec? kernel, UapiNames names)
    {
        var name = names.ProgramTypeName(type);
        if (type is Tracing or Lsm && AttachTarget(type, kernel) == 0)
            return ProbeResult.No(kernel is null
                ? "no kernel BTF to find an attach target in"
                : $"kernel BTF has no {(type == Tracing ? "bpf_fentry_test1" : "bpf_lsm_ hook")} function to attach to");
        try
        {
            using var fd = BpfSyscall.ProgramLoad(Request(type, ReturnOnly(), kernel)).Fd;
            return ProbeResult.Yes($"a minimal {name} program loads");
        }
        catch (BpfSyscallException e)
        {
            // Types that cannot load without a target BPF program or struct_ops member: libbpf's reading of the errno.
            if (type == Ext && e.ErrorNumber == Errno.EINVAL)
                return ProbeResult.Yes("the kernel asks for an attach target (EINVAL), so it knows the type");
            if (type == StructOps && e.ErrorNumber == Errno.ENOTSUPP)
                return ProbeResult.Yes("the kernel asks for a struct_ops member (ENOTSUPP), so it knows the type");
            return ProbeResult.No(Refusal(e), e.ErrorNumber);
        }
    }

    /// <summary>Loads a minimal program of <paramref name="type"/> with expected attach type <paramref name="attachType"/>.</summary>
    internal static ProbeResult ProbeAttachType(uint type, uint attachType, BtfSpec? kernel, UapiNames names)
    {
        try
        {
            using var fd = BpfSyscall.ProgramLoad(Request(type, ReturnOnly(1), kernel, attachType)).Fd;
            return ProbeResult.Yes($"a {names.ProgramTypeName(type)} program loads with expected attach type {names.AttachTypeName(attachType)}");
        }
        catch (BpfSyscallException e)
        {
            return ProbeResult.No(Refusal(e), e.ErrorNumber);
        }
    }

    /// <summary>
    /// bpftool's helper probe: a program of <paramref name="type"/> calling the helper. The verifier names a helper it does
    /// not know ("invalid func", "unknown func") or one this program type may not use ("program of this type cannot use
    /// helper"; older kernels said "unknown func" for both; some helpers check the type themselves: "func ... not
    /// supported for program type"); any other verifier objection means the call itself was accepted.
    /// </summary>
    internal static ProbeResult ProbeHelper(uint type, int helperId, BtfSpec? kernel)
    {
        try
        {
            var result = BpfSyscall.ProgramLoad(Request(type, CallHelper(helperId), kernel, logLevel: 1));
            result.Fd.Dispose();
            return ProbeResult.Yes("a program calling it loads");
        }
        catch (BpfSyscallException e)
        {
            var log = e.Log ?? "";
            foreach (var marker in HelperRefusals)
            {
                int at = log.IndexOf(marker, StringComparison.Ordinal);
                if (at >= 0) return ProbeResult.No("verifier: " + FirstLine(log[(log.LastIndexOf('\n', at) + 1)..]));
            }
            if (e.ErrorNumber is Errno.EINVAL or Errno.EACCES && log.Length > 0)
                return ProbeResult.Yes("the verifier accepted the call (it then objected to the arguments: " + LastLine(log) + ")");
            return ProbeResult.No(Refusal(e), e.ErrorNumber);
        }
    }

    private static readonly string[] HelperRefusals = ["cannot use helper", "unknown func ", "invalid func ", "not supported for program type"];

    internal static string Refusal(BpfSyscallException e)
    {
        var why = $"{BpfSyscallException.CommandName(e.Command)}: {Errno.Describe(e.ErrorNumber)}";
        if (!string.IsNullOrWhiteSpace(e.Log)) why += " (verifier: " + LastLine(e.Log) + ")";
        else if (e.ErrorNumber == Errno.EPERM) why += e.Command == BpfCommand.ProgLoad ? ", refused before the verifier ran" : ", refused by the kernel";
        return why;
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOf('\n');
        return (end < 0 ? text : text[..end]).Trim();
    }

    private static string LastLine(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var line in lines.Reverse())
            if (!line.StartsWith("processed ", StringComparison.Ordinal) && !line.StartsWith("verification time", StringComparison.Ordinal) && !line.StartsWith("stack depth", StringComparison.Ordinal))
                return line;
        return lines.Length > 0 ? lines[^1] : "";
    }
}

/// <summary>The running kernel's LINUX_VERSION_CODE (kprobe programs once had to carry it).</summary>
internal static class KernelRelease
{
    private static readonly Lazy<uint> s_code = new(() =>
    {
        try
        {
            var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            var parts = release.Split('.', '-');
            uint Part(int i) => i < parts.Length && uint.TryParse(parts[i], out var v) ? v : 0;
            return (Part(0) << 16) | (Part(1) << 8) | Math.Min(Part(2), 255u);
        }
        catch (IOException) { return 0; }
    });

    public static uint VersionCode => s_code.Value;
}
