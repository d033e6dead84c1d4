using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Links;

/// <summary>The kernel's tracing file system: tracepoint event ids live under events/CATEGORY/NAME/id.</summary>
public static class Tracefs
{
    private static readonly object s_mountLock = new();

    /// <summary>Where tracefs is (mounted on demand): /sys/kernel/tracing, or the older debugfs location.</summary>
    public static string Root => s_root ??= Locate();
    private static string? s_root;

    /// <summary>
    /// The tracefs mount, mounting it at /sys/kernel/tracing when nothing is mounted yet (it is not mounted at boot
    /// everywhere). Throws <see cref="IOException"/> naming the cause when it cannot be found or mounted.
    /// </summary>
    private static string Locate()
    {
        const string Primary = "/sys/kernel/tracing", Legacy = "/sys/kernel/debug/tracing";
        if (Directory.Exists(Path.Combine(Primary, "events"))) return Primary;
        if (Directory.Exists(Path.Combine(Legacy, "events"))) return Legacy;
        lock (s_mountLock)
        {
            if (Directory.Exists(Path.Combine(Primary, "events"))) return Primary;
            if (!Directory.Exists(Primary))
                throw new IOException($"tracefs is not mounted and {Primary} does not exist (a kernel without CONFIG_TRACING?)");
            if (NativeMethods.Mount("nodev", Primary, "tracefs", 0, 0) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                throw new IOException($"tracefs is not mounted and mounting it at {Primary} failed: {Errno.Describe(errno)}"
                                      + (Errno.IsPermissionDenied(errno) ? " (mounting needs root)" : ""));
            }
            return Primary;
        }
    }

    /// <summary>The id of tracepoint CATEGORY/NAME (its perf_event_attr.config).</summary>
    /// <exception cref="FileNotFoundException">No such tracepoint.</exception>
    public static ulong EventId(string category, string name)
    {
        ValidateName(category);
        ValidateName(name);
        var file = Path.Combine(Root, "events", category, name, "id");
        if (!File.Exists(file))
            throw new FileNotFoundException($"no tracepoint {category}/{name} (no {file})", file);
        return ulong.Parse(File.ReadAllText(file).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>True when tracepoint CATEGORY/NAME exists.</summary>
    public static bool Exists(string category, string name) =>
        IsSafe(category) && IsSafe(name) && File.Exists(Path.Combine(Root, "events", category, name, "id"));

    private static bool IsSafe(string part) => part.Length > 0 && !part.Contains('/') && part != "." && part != "..";

    private static void ValidateName(string part)
    {
        if (!IsSafe(part)) throw new ArgumentException($"'{part}' is not a tracepoint category or name");
    }
}
