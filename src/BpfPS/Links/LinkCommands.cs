using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Kernel;
using BpfPS.Core.Links;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>What the link cmdlets share: section attach of a collection, and the one ErrorRecord for attach failures.</summary>
internal static class LinkCommands
{
    /// <summary>
    /// Attaches every program of <paramref name="collection"/> whose section names a target, all or nothing, and gives
    /// the links to the runspace and the collection. On failure writes the error, removes the collection (nothing
    /// stays attached or loaded) and returns false.
    /// </summary>
    public static bool AttachSections(PSCmdlet cmdlet, BpfCollection collection, bool removeOnFailure = true)
    {
        var runspace = Runspace.DefaultRunspace;
        try
        {
            var links = SectionLinks.AttachAll(collection.Programs.Values);
            foreach (var link in links)
            {
                RunspaceLinks.Add(runspace, link, link.Program);
                cmdlet.WriteVerbose($"Attached {link}.");
            }
            return true;
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            if (removeOnFailure) RunspaceCollections.Remove(runspace, collection);
            cmdlet.WriteError(ErrorRecords.From(e, collection.Name));
            return false;
        }
    }

    /// <summary>Maps an attach failure to an ErrorRecord whose category follows the errno and whose target is the program and hook.</summary>
    public static ErrorRecord AttachError(LinkAttachException e)
    {
        var category = e.ErrorNumber switch
        {
            Errno.EPERM or Errno.EACCES => ErrorCategory.PermissionDenied,
            Errno.ENOENT or 19 /* ENODEV */ or Errno.ESRCH => ErrorCategory.ObjectNotFound,
            Errno.EEXIST => ErrorCategory.ResourceExists,
            Errno.EBUSY => ErrorCategory.ResourceBusy,
            Errno.EOPNOTSUPP or Errno.ENOTSUPP => ErrorCategory.NotImplemented,
            _ => ErrorCategory.InvalidOperation,
        };
        var id = e.ErrorName is { } name ? $"LinkAttachFailed,{name}" : "LinkAttachFailed";
        return new ErrorRecord(e, id, category, $"{e.ProgramName} -> {e.Target}");
    }

    /// <summary>The loaded collection (of this runspace) that holds <paramref name="program"/>, or null.</summary>
    public static BpfCollection? CollectionOf(LoadedProgram program) =>
        RunspaceCollections.List(Runspace.DefaultRunspace).FirstOrDefault(c => c.Programs.Values.Contains(program));
}
