using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// A loaded collection as Import-BpfCollection returns it: the core <see cref="Collection"/> (its programs and maps,
/// which own kernel descriptors) plus which runspace loaded it. Remove-BpfCollection, closing the runspace or removing
/// the module disposes it.
/// </summary>
public sealed class BpfCollection : IDisposable
{
    private static int s_nextId;

    internal BpfCollection(Collection collection, int runspaceId)
    {
        Collection = collection;
        RunspaceId = runspaceId;
        Id = Interlocked.Increment(ref s_nextId);
        LoadedAt = DateTime.Now;
        Programs = new OrderedDictionary<string, LoadedProgram>(collection.Programs, StringComparer.Ordinal);
        Maps = new OrderedDictionary<string, LoadedMap>(collection.Maps, StringComparer.Ordinal);
    }

    /// <summary>A process-wide number for this load, for Remove-BpfCollection -Id.</summary>
    public int Id { get; }
    /// <summary>The object file's name.</summary>
    public string Name => System.IO.Path.GetFileName(Collection.Path);
    /// <summary>The object file's full path.</summary>
    public string Path => Collection.Path;
    /// <summary>Programs by function name, in object order: $collection.Programs.count_packets.</summary>
    public OrderedDictionary<string, LoadedProgram> Programs { get; }
    /// <summary>Maps by name, in object order (global data sections appear as ".rodata", ".bss", ...).</summary>
    public OrderedDictionary<string, LoadedMap> Maps { get; }
    public DateTime LoadedAt { get; }
    /// <summary>The runspace that loaded it and will dispose it when it closes.</summary>
    public int RunspaceId { get; }
    /// <summary>True once removed: its programs and maps no longer hold descriptors.</summary>
    public bool IsDisposed => Collection.IsDisposed;
    /// <summary>The core collection (its spec, object BTF id, ...).</summary>
    public Collection Collection { get; }

    /// <summary>The links made for this collection's programs and still attached (New-BpfLink, Import-BpfCollection -Attach).</summary>
    public IReadOnlyList<BpfPS.Core.Links.BpfLink> Links
    {
        get { lock (_links) return _links.Where(l => !l.IsDisposed).ToArray(); }
    }

    private readonly List<BpfPS.Core.Links.BpfLink> _links = [];

    /// <summary>Makes <paramref name="link"/> go with the collection: removing the collection detaches it.</summary>
    internal void Own(BpfPS.Core.Links.BpfLink link)
    {
        lock (_links) _links.Add(link);
    }

    /// <summary>Detaches its links (pinned links stay attached), then closes every descriptor; pinned maps stay pinned. Idempotent.</summary>
    public void Dispose()
    {
        BpfPS.Core.Links.BpfLink[] links;
        lock (_links)
        {
            links = _links.ToArray();
            _links.Clear();
        }
        foreach (var link in links.Reverse()) link.Dispose();
        Collection.Dispose();
    }

    public override string ToString() => $"{Name} (#{Id}: {Programs.Count} programs, {Maps.Count} maps{(IsDisposed ? ", removed" : "")})";
}
