using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>kprobes, kretprobes and ksyscall probes, through the "kprobe" perf PMU.</summary>
public static class KprobeLinks
{
    /// <summary>Attaches a kprobe program to kernel function <paramref name="function"/> (+<paramref name="offset"/>), or to its return.</summary>
    /// <exception cref="LinkAttachException">Wrong program type, no kprobe support, no such function, or the kernel refused.</exception>
    public static BpfLink Attach(LoadedProgram program, string function, ulong offset = 0, bool returnProbe = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(function);
        var target = $"{(returnProbe ? "kretprobe" : "kprobe")} {function}{(offset != 0 ? $"+0x{offset:x}" : "")}";
        if (program.Type != BpfProgramType.Kprobe)
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program cannot attach to a kprobe (it needs SEC(\"kprobe/...\"))");
        if (PerfEvents.PmuType("kprobe") is not uint pmu)
            throw new LinkAttachException(program.Name, target,
                "this kernel has no kprobes (no kprobe PMU at /sys/bus/event_source/devices/kprobe: CONFIG_KPROBES is off)", Errno.EOPNOTSUPP);
        BpfFd perfEvent;
        try
        {
            perfEvent = PerfEvents.OpenProbe(pmu, returnProbe, PerfEvents.RetprobeBit("kprobe"), function, offset, -1);
        }
        catch (PerfEventException e)
        {
            var cause = e.ErrorNumber == Errno.ENOENT || e.ErrorNumber == Errno.EINVAL
                ? $"the kernel cannot probe '{function}' (not a known, probe-able function: {Errno.Describe(e.ErrorNumber)})"
                : e.Message;
            throw new LinkAttachException(program.Name, target, cause, e.ErrorNumber, e);
        }
        return PerfEvents.Attach(program, perfEvent, target);
    }

    /// <summary>Attaches to system call <paramref name="syscall"/> ("openat"), through its architecture's entry function as libbpf does.</summary>
    public static BpfLink AttachSyscall(LoadedProgram program, string syscall, bool returnProbe = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(syscall);
        var prefix = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? "__arm64_sys_" : "__x64_sys_";
        return Attach(program, prefix + syscall, 0, returnProbe);
    }
}
