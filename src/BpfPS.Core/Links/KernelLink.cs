using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>Fills the per-mechanism union of a BPF_LINK_CREATE attr (tcx ordering, netfilter hook, iterator info...).</summary>
internal delegate void LinkCreateFill(ref LinkCreateAttr attr);

/// <summary>
/// A kernel bpf_link: made by BPF_LINK_CREATE or BPF_RAW_TRACEPOINT_OPEN, or opened by id or pin. Closing its
/// descriptor detaches the program unless the link is pinned (or another process holds a descriptor).
/// </summary>
public class KernelLink : BpfLink
{
    private readonly IDisposable? _owned;

    /// <remarks><paramref name="owned"/>: something the link depends on and that goes with it (a perf event descriptor), closed after the link.</remarks>
    protected internal KernelLink(LoadedProgram? program, string target, BpfFd fd, BpfLinkInfo info, IDisposable? owned = null, string? programName = null)
        : base(program, target, info.Type, info.AttachType, fd, info.Id, programName, info.ProgramId)
    {
        Info = info;
        _owned = owned;
    }

    /// <summary>What the kernel said about the link when it was made or opened.</summary>
    public BpfLinkInfo Info { get; }

    /// <summary>
    /// BPF_LINK_CREATE for <paramref name="program"/> at <paramref name="targetFdOrIfindex"/> (a cgroup, netns or map
    /// descriptor, or an interface index), with <paramref name="fill"/> setting the mechanism's own fields.
    /// </summary>
    /// <remarks><paramref name="target"/> is the target in words, for <see cref="BpfLink.Target"/> and error messages.</remarks>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    internal static KernelLink Create(LoadedProgram program, int targetFdOrIfindex, BpfAttachType attachType, string target,
        LinkCreateFill? fill = null, uint flags = 0)
    {
        var attr = new LinkCreateAttr { TargetFd = (uint)targetFdOrIfindex, AttachType = (uint)attachType, Flags = flags };
        fill?.Invoke(ref attr);
        return Create(program, ref attr, target);
    }

    /// <summary>BPF_LINK_CREATE for <paramref name="program"/> at a descriptor or interface index (no mechanism-specific fields).</summary>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    public static KernelLink Create(LoadedProgram program, int targetFdOrIfindex, BpfAttachType attachType, string target, BpfAttachFlags flags = BpfAttachFlags.None) =>
        Create(program, targetFdOrIfindex, attachType, target, null, (uint)flags);

    /// <summary>
    /// BPF_LINK_CREATE with an attr the caller filled (and whose pointers it keeps pinned for the call); the program
    /// descriptor is set here. <paramref name="owned"/> goes with the link, and is disposed too when the attach fails.
    /// </summary>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    internal static KernelLink Create(LoadedProgram program, ref LinkCreateAttr attr, string target, IDisposable? owned = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        BpfFd fd;
        try
        {
            using var p = program.Fd.Lease();
            attr.ProgFd = (uint)p.Value;
            fd = BpfSyscall.LinkCreate(ref attr, target);
        }
        catch (BpfSyscallException e)
        {
            owned?.Dispose();
            throw LinkAttachException.FromSyscall(program.Name, target, e);
        }
        catch (ObjectDisposedException e)
        {
            owned?.Dispose();
            throw new LinkAttachException(program.Name, target, "the program was unloaded (its collection was removed)", 0, e);
        }
        return Adopt(program, fd, target, owned);
    }

    /// <summary>Wraps a new link descriptor (from LINK_CREATE or RAW_TRACEPOINT_OPEN), reading its id and type from the kernel.</summary>
    internal static KernelLink Adopt(LoadedProgram? program, BpfFd fd, string target, IDisposable? owned = null)
    {
        BpfLinkInfo info;
        try
        {
            info = BpfSyscall.GetLinkInfo(fd);
        }
        catch
        {
            fd.Dispose();
            owned?.Dispose();
            throw;
        }
        return new KernelLink(program, target, fd, info, owned);
    }

    /// <summary>Opens the link with kernel id <paramref name="id"/> (it stays attached when this object is disposed, unless nothing else holds it).</summary>
    /// <exception cref="BpfSyscallException">No such link (ENOENT), or no permission.</exception>
    public static KernelLink OpenById(uint id) => Open(BpfSyscall.LinkGetFdById(id));

    /// <summary>Opens the link pinned at <paramref name="path"/>.</summary>
    /// <exception cref="BpfSyscallException">Nothing pinned there, or not a link.</exception>
    public static KernelLink OpenPinned(string path) => Open(BpfSyscall.ObjectGet(path));

    private static KernelLink Open(BpfFd fd)
    {
        try
        {
            var info = BpfSyscall.GetLinkInfo(fd);
            string? name = null;
            if (info.ProgramId != 0)
            {
                try
                {
                    using var prog = BpfSyscall.ProgramGetFdById(info.ProgramId);
                    name = BpfSyscall.GetProgramInfo(prog).Name;
                }
                catch (BpfSyscallException) { } // the program went away between the two calls: the link shows its id only
            }
            return new KernelLink(null, LinkTargets.Describe(info), fd, info, null, name);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Detaches the program at once, although pins or other descriptors still hold the link (BPF_LINK_DETACH). The link
    /// object lives on, defunct, until the last reference goes.
    /// </summary>
    public void DetachNow()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        BpfSyscall.LinkDetach(Fd!);
    }

    protected override void Detach()
    {
        Fd!.Dispose();
        _owned?.Dispose();
    }
}
