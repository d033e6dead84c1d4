using System.Collections.Immutable;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// Which objects are pinned where: every file under every mounted bpffs (or under the given roots) opened with
/// BPF_OBJ_GET and identified by kind and id, like <c>bpftool prog show --bpffs</c>.
/// </summary>
public sealed class PinIndex
{
    /// <summary>Directories nested deeper than this are not walked (bpffs allows loops only through bind mounts, but be safe).</summary>
    private const int MaxDepth = 32;
    /// <summary>At most this many entries are examined per walk.</summary>
    private const int MaxEntries = 100_000;

    private readonly Dictionary<(BpfObjectKind, uint), ImmutableArray<string>> _paths;

    private PinIndex(Dictionary<(BpfObjectKind, uint), ImmutableArray<string>> paths) => _paths = paths;

    /// <summary>An index with nothing in it (when pins are not wanted).</summary>
    public static PinIndex Empty { get; } = new(new());

    /// <summary>Walks <paramref name="roots"/>, or every mounted bpffs when null.</summary>
    public static PinIndex Build(IEnumerable<string>? roots = null)
    {
        var found = new Dictionary<(BpfObjectKind, uint), List<string>>();
        int examined = 0;
        foreach (var root in roots ?? MountedBpfFileSystems())
            Walk(root, 0, found, ref examined);
        var paths = new Dictionary<(BpfObjectKind, uint), ImmutableArray<string>>(found.Count);
        foreach (var (key, list) in found)
        {
            list.Sort(StringComparer.Ordinal);
            paths[key] = [.. list];
        }
        return new PinIndex(paths);
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

    private static void Walk(string directory, int depth, Dictionary<(BpfObjectKind, uint), List<string>> found, ref int examined)
    {
        if (depth > MaxDepth)
            return;
        IEnumerable<string> entries;
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
            {
                Walk(entry, depth + 1, found, ref examined);
                continue;
            }
            Identify(entry, found);
        }
    }

    private static void Identify(string path, Dictionary<(BpfObjectKind, uint), List<string>> found)
    {
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
                uint id = BpfObjectDescriptors.IdOf(fd, kind);
                if (kind == BpfObjectKind.Unknown || id == 0)
                    return;
                if (!found.TryGetValue((kind, id), out var list))
                    found[(kind, id)] = list = new List<string>(1);
                list.Add(path);
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
