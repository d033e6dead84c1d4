using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>
/// An attachment made with BPF_PROG_ATTACH (no kernel link object): it stays in the kernel until detached, so this
/// object keeps the target and detaches exactly this program from it on dispose.
/// </summary>
public sealed class ProgAttachLink : BpfLink
{
    private readonly BpfFd _target;
    private readonly BpfFd _program;

    private ProgAttachLink(LoadedProgram program, BpfFd target, BpfAttachType attachType, string description)
        : base(program, description, BpfLinkType.Unspec, attachType, null, 0)
    {
        _target = target;
        _program = program.Fd;
    }

    public override string Kind => "prog_attach";

    /// <summary>BPF_PROG_ATTACH of <paramref name="program"/> to the object behind <paramref name="target"/>.</summary>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    public static ProgAttachLink Attach(LoadedProgram program, BpfFd target, BpfAttachType attachType, string description,
        BpfAttachFlags flags = BpfAttachFlags.None)
    {
        ArgumentNullException.ThrowIfNull(program);
        try
        {
            using var t = target.Lease();
            BpfSyscall.ProgAttach(t.Value, program.Fd, attachType, flags);
        }
        catch (BpfSyscallException e)
        {
            throw LinkAttachException.FromSyscall(program.Name, description, e);
        }
        catch (ObjectDisposedException e)
        {
            throw new LinkAttachException(program.Name, description, "the program or the target was closed", 0, e);
        }
        return new ProgAttachLink(program, target, attachType, description);
    }

    protected override void Detach()
    {
        try
        {
            using var t = _target.Lease();
            BpfSyscall.ProgDetach(t.Value, _program, AttachType!.Value);
        }
        catch (ObjectDisposedException) { }   // the map or program is gone, and the attachment with it
        catch (BpfSyscallException) { }       // already detached by someone else
    }
}
