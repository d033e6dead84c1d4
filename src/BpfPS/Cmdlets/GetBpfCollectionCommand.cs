using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BpfPS.Cmdlets;

/// <summary>Get-BpfCollection: the collections this runspace has loaded and not yet removed.</summary>
[Cmdlet(VerbsCommon.Get, "BpfCollection", DefaultParameterSetName = NameSet)]
[OutputType(typeof(BpfCollection))]
public sealed class GetBpfCollectionCommand : PSCmdlet
{
    private const string NameSet = "Name", IdSet = "Id";

    /// <summary>Object file names (e.g. packet_counter.o); wildcards allowed.</summary>
    [Parameter(Position = 0, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(BpfCollectionNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Collection ids (the Id property of a loaded collection).</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet)]
    public int[]? Id { get; set; }

    protected override void EndProcessing()
    {
        var loaded = RunspaceCollections.List(Runspace.DefaultRunspace);
        if (Id is not null)
        {
            foreach (var id in Id)
            {
                var match = loaded.FirstOrDefault(c => c.Id == id);
                if (match is not null) WriteObject(match);
                else WriteError(new ErrorRecord(new ItemNotFoundException($"No loaded collection has id {id}."),
                    "CollectionNotFound", ErrorCategory.ObjectNotFound, id));
            }
            return;
        }
        foreach (var collection in CollectionNames.Match(this, loaded, Name))
            WriteObject(collection);
    }
}
