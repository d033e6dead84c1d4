using System.Management.Automation.Runspaces;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// The links each runspace made. A link belongs to the runspace that made it and to the collection whose program it
/// attached: closing the runspace, Remove-BpfLink or Remove-BpfCollection detaches it. A pinned kernel link stays
/// attached in the kernel all the same (the pin holds it).
/// </summary>
internal static class RunspaceLinks
{
    private static readonly RunspaceOwned<BpfLink> s_made = new(l => l.IsDisposed, disposeNewestFirst: true);

    /// <summary>Records <paramref name="link"/> as this runspace's and as the collection's that loaded <paramref name="program"/>.</summary>
    public static void Add(Runspace? runspace, BpfLink link, LoadedProgram? program)
    {
        if (program is not null)
            RunspaceCollections.List(runspace).FirstOrDefault(c => c.Programs.Values.Contains(program))?.Own(link);
        s_made.Add(runspace, link);
    }

    /// <summary>This runspace's links still attached, oldest first.</summary>
    public static IReadOnlyList<BpfLink> List(Runspace? runspace) => s_made.List(runspace);

    /// <summary>Detaches one link and forgets it.</summary>
    public static void Remove(Runspace? runspace, BpfLink link) => s_made.Remove(runspace, link);

    /// <summary>Detaches every link the runspace made; returns how many were still attached.</summary>
    public static int DisposeAll(Runspace? runspace) => s_made.DisposeAll(runspace);
}
