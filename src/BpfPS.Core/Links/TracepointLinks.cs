using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>Tracepoints (tracefs events): a tracepoint program on a perf event for the event id.</summary>
public static class TracepointLinks
{
    /// <summary>Attaches a tracepoint program to CATEGORY/NAME (e.g. "syscalls", "sys_enter_openat").</summary>
    /// <exception cref="LinkAttachException">Wrong program type, no such tracepoint, no tracefs, or the kernel refused.</exception>
    public static BpfLink Attach(LoadedProgram program, string category, string name)
    {
        ArgumentNullException.ThrowIfNull(program);
        var target = $"tracepoint {category}/{name}";
        if (program.Type != BpfProgramType.Tracepoint)
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program cannot attach to a tracepoint (it needs a Tracepoint program: SEC(\"tracepoint/...\"))");
        ulong id;
        try
        {
            id = Tracefs.EventId(category, name);
        }
        catch (FileNotFoundException)
        {
            throw new LinkAttachException(program.Name, target, $"the kernel has no tracepoint {category}/{name} (see {Tracefs.Root}/events)", Errno.ENOENT);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new LinkAttachException(program.Name, target, e.Message, 0, e);
        }
        BpfFd perfEvent;
        try
        {
            perfEvent = PerfEvents.OpenTracepoint(id);
        }
        catch (PerfEventException e)
        {
            throw new LinkAttachException(program.Name, target, e.Message, e.ErrorNumber, e);
        }
        return PerfEvents.Attach(program, perfEvent, target);
    }

    /// <summary>Attaches to "CATEGORY/NAME".</summary>
    public static BpfLink Attach(LoadedProgram program, string tracepoint)
    {
        ArgumentException.ThrowIfNullOrEmpty(tracepoint);
        int slash = tracepoint.IndexOf('/');
        if (slash <= 0 || slash == tracepoint.Length - 1)
            throw new LinkAttachException(program.Name, $"tracepoint {tracepoint}", "a tracepoint is named CATEGORY/NAME, e.g. syscalls/sys_enter_openat");
        return Attach(program, tracepoint[..slash], tracepoint[(slash + 1)..]);
    }
}
