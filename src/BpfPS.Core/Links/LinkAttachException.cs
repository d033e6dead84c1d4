using BpfPS.Core.Kernel;

namespace BpfPS.Core.Links;

/// <summary>
/// A program could not be attached (or re-attached) where asked. Names the program, the target and the cause; every
/// attach mechanism throws this, wrapping the kernel's error, so a caller handles one kind of failure.
/// </summary>
public sealed class LinkAttachException : Exception
{
    public LinkAttachException(string programName, string target, string cause, int errorNumber = 0, Exception? innerException = null)
        : base($"cannot attach program '{programName}' to {target}: {cause}", innerException)
    {
        ProgramName = programName;
        Target = target;
        Cause = cause;
        ErrorNumber = errorNumber;
    }

    /// <summary>The program that was to be attached.</summary>
    public string ProgramName { get; }
    /// <summary>Where it was to be attached, in words ("tracepoint syscalls/sys_enter_getpid", "veth0 (generic)"...).</summary>
    public string Target { get; }
    /// <summary>Why not, without the program and target.</summary>
    public string Cause { get; }
    /// <summary>The errno behind the failure, 0 when there was none (e.g. a missing symbol found by reading a file).</summary>
    public int ErrorNumber { get; }
    /// <summary>Symbolic errno name ("EPERM"), or null without one.</summary>
    public string? ErrorName => ErrorNumber == 0 ? null : Errno.Name(ErrorNumber);

    /// <summary>Wraps a failed bpf() call, explaining the errno the attach commands return most.</summary>
    public static LinkAttachException FromSyscall(string programName, string target, BpfSyscallException e)
    {
        var hint = e.ErrorNumber switch
        {
            Errno.EEXIST => "; something is already attached there (the same program twice, or an exclusive hook)",
            Errno.EBUSY => "; the hook is held by another attachment",
            Errno.EINVAL => "; the kernel refuses this program type or attach type at this hook",
            Errno.ENOENT => "; the target does not exist",
            Errno.EOPNOTSUPP or Errno.ENOTSUPP => "; this kernel does not support it",
            _ => "",
        };
        return new LinkAttachException(programName, target, e.Message + hint, e.ErrorNumber, e);
    }
}
