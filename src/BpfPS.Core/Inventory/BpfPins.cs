using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// Pinning on bpffs: keeping a program or map alive after its last descriptor closes by giving it a path, opening it
/// again from that path, and removing the path. Paths must be on a bpf filesystem (statfs magic 0xcafe4a11); the
/// default mount at /sys/fs/bpf is mounted on demand when this process is root.
/// </summary>
public static partial class BpfPins
{
    /// <summary>Pins <paramref name="fd"/> at <paramref name="path"/>, creating missing parent directories on the bpffs.</summary>
    /// <exception cref="ArgumentException">The path is not on a bpf filesystem.</exception>
    /// <exception cref="BpfSyscallException">The kernel refused, e.g. EEXIST when something is pinned there already.</exception>
    public static void Pin(BpfFd fd, string path)
    {
        ArgumentNullException.ThrowIfNull(fd);
        string full = CheckedPath(path);
        string parent = Path.GetDirectoryName(full) ?? "/";
        RequireBpfFs(NearestExisting(parent), full);
        Directory.CreateDirectory(parent);   // on bpffs: mkdir works, and the nearest existing ancestor is bpffs
        if (File.Exists(full) || Directory.Exists(full))
            throw new BpfSyscallException(BpfCommand.ObjPin, Errno.EEXIST, $"{full} already exists");
        BpfSyscall.ObjectPin(fd, full);
    }

    /// <summary>Removes the pin at <paramref name="path"/>; the object lives on while anything else holds it.</summary>
    /// <exception cref="FileNotFoundException">Nothing is pinned there.</exception>
    /// <exception cref="ArgumentException">The path is not on a bpf filesystem, or is a directory.</exception>
    public static void Unpin(string path)
    {
        string full = CheckedPath(path);
        if (Directory.Exists(full))
            throw new ArgumentException($"{full} is a directory, not a pinned object");
        if (!File.Exists(full))
            throw new FileNotFoundException($"nothing is pinned at {full}", full);
        RequireBpfFs(full, full);
        File.Delete(full);
    }

    /// <summary>Opens the object pinned at <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">Nothing is pinned there (or the pin was removed).</exception>
    /// <exception cref="ArgumentException">The path is not on a bpf filesystem.</exception>
    public static PinnedObject Open(string path)
    {
        string full = CheckedPath(path);
        if (!File.Exists(full))
            throw new FileNotFoundException(Directory.Exists(full) ? $"{full} is a directory, not a pinned object" : $"nothing is pinned at {full}", full);
        RequireBpfFs(full, full);
        var fd = BpfSyscall.TryObjectGet(full) ?? throw new FileNotFoundException($"nothing is pinned at {full}", full);
        try
        {
            var kind = BpfObjectDescriptors.KindOf(fd);
            var (id, name) = BpfObjectDescriptors.Identify(fd, kind);
            return new PinnedObject(full, kind, id, name, fd);
        }
        catch
        {
            fd.Dispose();
            throw;
        }
    }

    /// <summary>Opens a pin that must hold <paramref name="expected"/> (a map, or a program).</summary>
    /// <exception cref="InvalidDataException">Something else is pinned there.</exception>
    public static PinnedObject Open(string path, BpfObjectKind expected)
    {
        var pinned = Open(path);
        if (pinned.Kind == expected)
            return pinned;
        pinned.Dispose();
        throw new InvalidDataException($"{pinned.Path} holds a {Describe(pinned.Kind)}, not a {Describe(expected)}");
    }

    /// <summary>True when <paramref name="path"/> (or, if it does not exist, its nearest existing ancestor) is on a bpffs.</summary>
    public static bool IsOnBpfFs(string path) => BpfFileSystem.IsBpfFs(NearestExisting(Path.GetFullPath(path)));

    /// <summary>
    /// Makes sure /sys/fs/bpf is a bpffs, mounting one when it is not and this process is root. Returns null when it is
    /// mounted, else why it is not.
    /// </summary>
    public static string? EnsureDefaultMount()
    {
        const string root = BpfFileSystem.DefaultPinRoot;
        if (BpfFileSystem.IsBpfFs(root))
            return null;
        if (!Directory.Exists(root))
            return $"{root} does not exist";
        if (!Environment.IsPrivilegedProcess)
            return $"{root} is not a bpf filesystem, and mounting one needs root";
        if (Mount("bpf", root, "bpf", 0, 0) != 0)
            return $"mounting a bpf filesystem at {root} failed: {Errno.Describe(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}";
        return BpfFileSystem.IsBpfFs(root) ? null : $"{root} is still not a bpf filesystem after mounting one";
    }

    private static string CheckedPath(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (path.Contains('\0'))
            throw new ArgumentException("a pin path cannot contain NUL");
        return Path.GetFullPath(path).TrimEnd('/') is { Length: > 0 } full ? full : "/";
    }

    private static void RequireBpfFs(string existing, string path)
    {
        if (BpfFileSystem.IsBpfFs(existing))
            return;
        // The default root is the one place we may mount on demand.
        if (IsUnderDefaultRoot(path) && EnsureDefaultMount() is null && BpfFileSystem.IsBpfFs(NearestExisting(existing)))
            return;
        // No parameter name: the message names the path, and ArgumentException would append "(Parameter 'path')".
        throw new ArgumentException($"{path} is not on a bpf filesystem (pins live under a bpffs mount such as {BpfFileSystem.DefaultPinRoot})");
    }

    private static bool IsUnderDefaultRoot(string path) =>
        path == BpfFileSystem.DefaultPinRoot || path.StartsWith(BpfFileSystem.DefaultPinRoot + "/", StringComparison.Ordinal);

    private static string NearestExisting(string path)
    {
        var current = path;
        while (!Directory.Exists(current) && !File.Exists(current))
        {
            var parent = Path.GetDirectoryName(current);
            if (parent is null) return "/";
            current = parent;
        }
        return current;
    }

    private static string Describe(BpfObjectKind kind) => kind switch
    {
        BpfObjectKind.Program => "program",
        BpfObjectKind.Map => "map",
        BpfObjectKind.Link => "link",
        BpfObjectKind.Btf => "BTF object",
        _ => "object of unknown kind",
    };

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial int Mount(string source, string target, string fileSystemType, ulong flags, nint data);
}
