using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>
/// An attachment of one program to one kernel hook. Disposing it detaches the program (unless the kernel link is
/// pinned, which keeps it alive). Kernel links (<see cref="KernelLink"/>) have a bpf_link descriptor and an id; older
/// mechanisms (netlink XDP/tc, PROG_ATTACH, SO_ATTACH_BPF) have neither and undo their attachment on dispose.
/// </summary>
public abstract class BpfLink : IDisposable
{
    private int _disposed;
    private readonly object _gate = new();

    protected BpfLink(LoadedProgram? program, string target, BpfLinkType type, BpfAttachType? attachType, BpfFd? fd, uint id,
        string? programName = null, uint programId = 0)
    {
        Program = program;
        Target = target;
        Type = type;
        AttachType = attachType;
        Fd = fd;
        Id = id;
        ProgramName = programName ?? program?.Name ?? "";
        ProgramId = programId != 0 ? programId : program?.Id ?? 0;
    }

    /// <summary>The attached program, when this process loaded it (null for links opened by id or pin).</summary>
    public LoadedProgram? Program { get; private set; }
    /// <summary>The attached program's name (from the kernel for links opened by id or pin).</summary>
    public string ProgramName { get; private set; }
    /// <summary>The attached program's kernel id.</summary>
    public uint ProgramId { get; private set; }
    /// <summary>Where the program is attached, in words: tracepoint, interface and mode, cgroup path and attach type...</summary>
    public string Target { get; }
    public BpfLinkType Type { get; }
    public BpfAttachType? AttachType { get; }
    /// <summary>The bpf_link descriptor; null for attachments the kernel has no link object for.</summary>
    public BpfFd? Fd { get; }
    /// <summary>The kernel's link id (bpftool link show id N), 0 when there is no kernel link.</summary>
    public uint Id { get; }
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>"perf_event", "xdp"...: the kind of link, as bpftool names it.</summary>
    public virtual string Kind => BpfLinkNames.Of(Type);

    /// <summary>
    /// Replaces the program behind the link atomically (BPF_LINK_UPDATE): no event goes unprocessed in between. With
    /// <paramref name="expectedOld"/> the swap happens only if that program is still the attached one.
    /// </summary>
    /// <exception cref="NotSupportedException">The attachment has no kernel link, or its kind cannot be updated.</exception>
    /// <exception cref="LinkAttachException">The kernel refused the new program.</exception>
    public virtual void Update(LoadedProgram newProgram, LoadedProgram? expectedOld = null)
    {
        ArgumentNullException.ThrowIfNull(newProgram);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Fd is null)
            throw new NotSupportedException($"{Kind} attachment of '{ProgramName}' to {Target} is not a kernel link and cannot be updated in place; detach it and attach the new program.");
        try
        {
            BpfSyscall.LinkUpdate(Fd, newProgram.Fd, expectedOld?.Fd);
        }
        catch (BpfSyscallException e)
        {
            var cause = e.ErrorNumber == Errno.EOPNOTSUPP || e.ErrorNumber == Errno.ENOTSUPP
                ? $"{Kind} links cannot be updated on this kernel ({e.ErrorName}); detach and attach instead"
                : e.ErrorNumber == Errno.EPERM && expectedOld is not null
                    ? $"'{expectedOld.Name}' is no longer the program attached ({e.ErrorName})"
                    : e.Message;
            throw new LinkAttachException(newProgram.Name, Target, cause, e.ErrorNumber, e);
        }
        lock (_gate)
        {
            Program = newProgram;
            ProgramName = newProgram.Name;
            ProgramId = newProgram.Id;
        }
    }

    /// <summary>Pins the link at <paramref name="path"/> on a bpffs: it then stays attached after this object is disposed.</summary>
    /// <exception cref="NotSupportedException">The attachment has no kernel link.</exception>
    public void Pin(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        if (Fd is null)
            throw new NotSupportedException($"{Kind} attachment of '{ProgramName}' to {Target} is not a kernel link and cannot be pinned.");
        BpfSyscall.ObjectPin(Fd, path);
    }

    /// <summary>Detaches (once; later calls do nothing). Safe to call from several threads.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Detach();
        GC.SuppressFinalize(this);
    }

    /// <summary>Undoes the attachment. Called exactly once, by <see cref="Dispose"/>.</summary>
    protected abstract void Detach();

    public override string ToString()
    {
        var id = Id != 0 ? $" {Id}" : "";
        return $"{Kind} link{id}: {(ProgramName.Length > 0 ? ProgramName : $"program {ProgramId}")} -> {Target}";
    }
}
