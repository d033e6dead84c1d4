using System.Collections.Immutable;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// Which objects are pinned where: every file under every mounted bpffs (or under the given roots) opened with
/// BPF_OBJ_GET and identified by kind and id, like <c>bpftool prog show --bpffs</c>.
/// </summary>
public sealed class PinIndex
{
    /// <summary>Directories nested deeper than this are not walked.</summary>
    private const int MaxDepth = 32;
    /// <summary>At most this many directory entries are examined per walk.</summary>
    private const int MaxEntries = 100_000;

    private readonly Dictionary<(BpfObjectKind, uint), ImmutableArray<string>> _paths;

    private PinIndex(ImmutableArray<PinEntry> pins)
    {
        Pins = pins;
        _paths = pins.GroupBy(p => (p.Kind, p.Id))
            .ToDictionary(g => g.Key, g => g.Select(p => p.Path).Order(StringComparer.Ordinal).ToImmutableArray());
    }

    /// <summary>An index with nothing in it (when pins are not wanted).</summary>
    public static PinIndex Empty { get; } = new(ImmutableArray<PinEntry>.Empty);

    /// <summary>Every pin found, in path order.</summary>
    public ImmutableArray<PinEntry> Pins { get; }

    /// <summary>
    /// Walks <paramref name="roots"/> (directories, or single pins), or every mounted bpffs when null. Roots that are not
    /// on a bpffs are skipped: only bpffs holds pins, and opening other files with BPF_OBJ_GET is pointless.
    /// </summary>
    public static PinIndex Build(IEnumerable<string>? roots = null)
    {
        var found = new List<PinEntry>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int examined = 0;
        foreach (var root in roots ?? MountedBpfFileSystems())
        {
            var full = Path.GetFullPath(root);
            if (!BpfFileSystem.IsBpfFs(full))
                continue;
            if (File.Exists(full))
                Identify(full, found, seen);
            else
                Walk(full, 0, found, seen, ref examined);
        }
        found.Sort((a, b) => StringComparer.Ordinal.Compare(a.Path, b.Path));
        return new PinIndex([.. found]);
    }

    /// <summary>Paths where the object of <paramref name="kind"/> with <paramref name="id"/> is pinned.</summary>
    public ImmutableArray<string> PathsOf(BpfObjectKind kind, uint id) =>
        _paths.TryGetValue((kind, id), out var paths) ? paths : ImmutableArray<string>.Empty;

    /// <summary>Mount points of type bpf, from /proc/self/mounts (octal escapes such as \040 decoded).</summary>
    public static IReadOnlyList<string> MountedBpfFileSystems()
    {
        var mounts = new List<string>();
        if (!File.Exists("/proc/self/mounts"))
            return mounts;
        foreach (var line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length >= 3 && fields[2] == "bpf" && !mounts.Contains(Unescape(fields[1])))
                mounts.Add(Unescape(fields[1]));
        }
        return mounts;
    }

    private static void Walk(string directory, int depth, List<PinEntry> found, HashSet<string> seen, ref int examined)
    {
        if (depth > MaxDepth)
            return;
        List<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(directory).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;   // a directory we may not read, or one removed under us
        }
        foreach (var entry in entries)
        {
            if (++examined > MaxEntries)
                return;
            var info = new FileInfo(entry);
            if (info.LinkTarget is not null)
                continue;
            if ((info.Attributes & FileAttributes.Directory) != 0)
                Walk(entry, depth + 1, found, seen, ref examined);
            else
                Identify(entry, found, seen);
        }
    }

    private static void Identify(string path, List<PinEntry> found, HashSet<string> seen)
    {
        if (!seen.Add(path))
            return;   // roots may overlap (a mount inside another, a pin named beside its directory)
        BpfFd? fd;
        try
        {
            fd = BpfSyscall.TryObjectGet(path);
        }
        catch (BpfSyscallException)
        {
            return;   // not a BPF object, or not ours to open
        }
        if (fd is null)
            return;
        using (fd)
        {
            try
            {
                var kind = BpfObjectDescriptors.KindOf(fd);
                var (id, name) = BpfObjectDescriptors.Identify(fd, kind);
                if (kind != BpfObjectKind.Unknown && id != 0)
                    found.Add(new PinEntry(path, kind, id, name));
            }
            catch (Exception e) when (e is BpfSyscallException or IOException)
            {
                // The object went away between open and info: nothing to index.
            }
        }
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\'))
            return field;
        var text = new System.Text.StringBuilder(field.Length);
        for (int i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field.AsSpan(i + 1, 3)))
            {
                text.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                text.Append(field[i]);
            }
        }
        return text.ToString();
    }

    private static bool IsOctal(ReadOnlySpan<char> digits)
    {
        foreach (char c in digits)
            if (c is < '0' or > '7') return false;
        return true;
    }
}
