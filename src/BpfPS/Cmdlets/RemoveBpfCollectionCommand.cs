using System.Management.Automation;
using System.Management.Automation.Runspaces;

namespace BpfPS.Cmdlets;

/// <summary>Remove-BpfCollection: closes a loaded collection's programs, maps and BTF (pinned maps stay pinned).</summary>
[Cmdlet(VerbsCommon.Remove, "BpfCollection", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class RemoveBpfCollectionCommand : PSCmdlet
{
    private const string InputObjectSet = "InputObject", NameSet = "Name", IdSet = "Id";

    /// <summary>Collections from Import-BpfCollection or Get-BpfCollection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    public BpfCollection[]? InputObject { get; set; }

    /// <summary>Object file names of loaded collections; wildcards allowed.</summary>
    [Parameter(Mandatory = true, ParameterSetName = NameSet)]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(BpfCollectionNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string[]? Name { get; set; }

    /// <summary>Collection ids.</summary>
    [Parameter(Mandatory = true, ParameterSetName = IdSet)]
    public int[]? Id { get; set; }

    protected override void ProcessRecord()
    {
        var runspace = Runspace.DefaultRunspace;
        IEnumerable<BpfCollection> targets = ParameterSetName switch
        {
            NameSet => CollectionNames.Match(this, RunspaceCollections.List(runspace), Name),
            IdSet => ById(RunspaceCollections.List(runspace)),
            _ => InputObject!,
        };
        foreach (var collection in targets)
        {
            if (collection.IsDisposed)
            {
                WriteVerbose($"{collection} was already removed.");
                continue;
            }
            if (!ShouldProcess($"{collection.Name} (#{collection.Id})",
                    $"Close {collection.Programs.Count} programs and {collection.Maps.Count} maps")) continue;
            RunspaceCollections.Remove(runspace, collection);
            WriteVerbose($"Removed {collection.Name} (#{collection.Id}).");
        }
    }

    private IEnumerable<BpfCollection> ById(IReadOnlyList<BpfCollection> loaded)
    {
        foreach (var id in Id!)
        {
            var match = loaded.FirstOrDefault(c => c.Id == id);
            if (match is not null) yield return match;
            else WriteError(new ErrorRecord(new ItemNotFoundException($"No loaded collection has id {id}."),
                "CollectionNotFound", ErrorCategory.ObjectNotFound, id));
        }
    }
}
