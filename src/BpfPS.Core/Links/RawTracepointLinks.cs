using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>
/// Raw tracepoints (raw_tp/NAME) and the BTF-typed tracing family (tp_btf, fentry, fexit, fmod_ret, lsm) whose
/// target was fixed at load: all through BPF_RAW_TRACEPOINT_OPEN, which gives a kernel link.
/// </summary>
public static class RawTracepointLinks
{
    /// <summary>Attaches a raw_tp program to raw tracepoint <paramref name="name"/> (e.g. "sys_enter", "sched_switch").</summary>
    /// <exception cref="LinkAttachException">Wrong program type, no such tracepoint, or the kernel refused.</exception>
    public static KernelLink Attach(LoadedProgram program, string name)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var target = $"raw tracepoint {name}";
        if (program.Type is not (BpfProgramType.RawTracepoint or BpfProgramType.RawTracepointWritable))
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program cannot attach to a raw tracepoint (it needs SEC(\"raw_tp/...\"))");
        return Open(program, name, target);
    }

    /// <summary>
    /// Attaches a tp_btf/fentry/fexit/fmod_ret/lsm program to the kernel function or tracepoint its section named at load.
    /// </summary>
    /// <exception cref="LinkAttachException">Not such a program, or the kernel refused.</exception>
    public static KernelLink AttachTracing(LoadedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        var target = TracingTarget(program);
        if (program.Type is not (BpfProgramType.Tracing or BpfProgramType.Lsm) || program.ExpectedAttachType == BpfAttachType.TraceIter)
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program is not a tp_btf/fentry/fexit/fmod_ret/lsm program");
        return Open(program, null, target);
    }

    /// <summary>"fentry do_unlinkat", "tp_btf sched_switch"...: the section's kind and its target.</summary>
    internal static string TracingTarget(LoadedProgram program)
    {
        var section = program.SectionName;
        int slash = section.IndexOf('/');
        return slash < 0 ? section : $"{section[..slash]} {section[(slash + 1)..]}";
    }

    private static KernelLink Open(LoadedProgram program, string? name, string target)
    {
        BpfFd fd;
        try
        {
            fd = BpfSyscall.RawTracepointOpen(name, program.Fd);
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT && name is not null)
        {
            throw new LinkAttachException(program.Name, target, $"the kernel has no raw tracepoint '{name}'", e.ErrorNumber, e);
        }
        catch (BpfSyscallException e)
        {
            throw LinkAttachException.FromSyscall(program.Name, target, e);
        }
        catch (ObjectDisposedException e)
        {
            throw new LinkAttachException(program.Name, target, "the program was unloaded (its collection was removed)", 0, e);
        }
        return KernelLink.Adopt(program, fd, target);
    }
}
