using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>An object opened from a pin: its kind, id and a descriptor this instance owns.</summary>
public sealed class PinnedObject : IDisposable
{
    internal PinnedObject(string path, BpfObjectKind kind, uint id, string name, BpfFd fd)
    {
        Path = path;
        Kind = kind;
        Id = id;
        Name = name;
        Fd = fd;
    }

    /// <summary>The pin's path on bpffs.</summary>
    public string Path { get; }
    public BpfObjectKind Kind { get; }
    /// <summary>The kernel's id for the object (0 when the kind has none this reader knows).</summary>
    public uint Id { get; }
    /// <summary>The object's name as the kernel knows it ("" for links).</summary>
    public string Name { get; }
    /// <summary>The open descriptor; closed by <see cref="Dispose"/>.</summary>
    public BpfFd Fd { get; }

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"{Kind} id {Id} pinned at {Path}";
}
