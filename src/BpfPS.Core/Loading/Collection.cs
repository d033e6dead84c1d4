using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// The kernel objects one ELF object became: its BTF, maps and programs. Created all or nothing by <see cref="Load"/>;
/// <see cref="Dispose"/> closes every descriptor (pinned maps stay pinned).
/// </summary>
public sealed class Collection : IDisposable
{
    private int _disposed;

    internal Collection(CollectionSpec spec, BpfFd? btf, uint btfId, IReadOnlyDictionary<string, LoadedMap> maps, IReadOnlyDictionary<string, LoadedProgram> programs,
        IReadOnlyList<string> skippedPrograms, IReadOnlyList<string> warnings)
    {
        SkippedPrograms = skippedPrograms;
        Warnings = warnings;
        Spec = spec;
        BtfFd = btf;
        BtfId = btfId;
        Maps = maps;
        Programs = programs;
    }

    /// <summary>
    /// Loads <paramref name="spec"/> into the kernel like libbpf 1.1's bpf_object__load: object BTF, maps (pins reused or
    /// created, global data initialised and frozen, kconfig filled), programs (relocated and verified), then prog-array
    /// and map-in-map contents. On any failure everything created so far is closed and new pins are removed.
    /// </summary>
    /// <exception cref="BpfLoadException">Loading failed; names the object and the program or map at fault.</exception>
    /// <exception cref="BpfFormatException">The spec holds a malformed CO-RE relocation.</exception>
    public static Collection Load(CollectionSpec spec, CollectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return new CollectionLoader(spec, options ?? new CollectionOptions()).Load();
    }

    /// <summary>Parses and loads the ELF object at <paramref name="path"/>.</summary>
    public static Collection LoadFile(string path, CollectionOptions? options = null) => Load(CollectionSpec.Load(path), options);

    /// <summary>The object file the collection came from.</summary>
    public string Path => Spec.Path;
    public CollectionSpec Spec { get; }
    /// <summary>The object's BTF in the kernel (null when the object has no BTF).</summary>
    public BpfFd? BtfFd { get; }
    /// <summary>The kernel id of <see cref="BtfFd"/>, or 0.</summary>
    public uint BtfId { get; }
    /// <summary>Maps by their name in the object, in object order.</summary>
    public IReadOnlyDictionary<string, LoadedMap> Maps { get; }
    /// <summary>Programs by function name, in object order.</summary>
    public IReadOnlyDictionary<string, LoadedProgram> Programs { get; }
    /// <summary>Programs of the spec that were not loaded (autoload off, or left out of <see cref="CollectionOptions.Programs"/>), in object order.</summary>
    public IReadOnlyList<string> SkippedPrograms { get; }
    /// <summary>What the load worked around, as libbpf would warn (e.g. object BTF the kernel refused, loaded without it).</summary>
    public IReadOnlyList<string> Warnings { get; }
    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;
    /// <summary>The struct_ops maps this load registered with the kernel, in object order; unregistered by <see cref="Dispose"/>.</summary>
    public IReadOnlyList<StructOpsRegistration> StructOps { get; internal init; } = [];

    /// <summary>Closes programs, maps and BTF. Idempotent and safe to call from several threads.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var s in StructOps) s.Dispose(); // first: unregistering a map-registered struct_ops needs the map's fd
        foreach (var p in Programs.Values) p.Dispose();
        foreach (var m in Maps.Values) m.Dispose();
        BtfFd?.Dispose();
    }

    public override string ToString() => $"{System.IO.Path.GetFileName(Path)}: {Programs.Count} programs, {Maps.Count} maps";
}
