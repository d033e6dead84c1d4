using System.IO.Compression;
using System.Text;

namespace BpfPS.Core.Loading;

/// <summary>
/// The running kernel's build configuration (CONFIG_* = value) and release, the sources libbpf uses for __kconfig
/// externs: /boot/config-$(uname -r), else /proc/config.gz.
/// </summary>
public static class KernelConfig
{
    /// <summary>Parses "CONFIG_X=value" lines (other lines, including "# CONFIG_X is not set", are ignored as libbpf does).</summary>
    /// <exception cref="FormatException">A CONFIG_ line without '=' or without a value (libbpf refuses those too).</exception>
    public static IReadOnlyDictionary<string, string> Parse(TextReader reader)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? line;
        int lineNumber = 0;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (!line.StartsWith("CONFIG_", StringComparison.Ordinal)) continue;
            int eq = line.IndexOf('=');
            if (eq < 0) throw new FormatException($"kernel config line {lineNumber}: no '=' in '{line}'");
            if (eq == line.Length - 1) throw new FormatException($"kernel config line {lineNumber}: no value in '{line}'");
            values.TryAdd(line[..eq], line[(eq + 1)..]);
        }
        return values;
    }

    /// <summary>Reads the running kernel's configuration; null when neither source exists.</summary>
    public static IReadOnlyDictionary<string, string>? ReadSystem()
    {
        var boot = $"/boot/config-{KernelRelease()}";
        if (File.Exists(boot))
        {
            using var reader = new StreamReader(boot, Encoding.UTF8);
            return Parse(reader);
        }
        const string proc = "/proc/config.gz";
        if (File.Exists(proc))
        {
            using var file = File.OpenRead(proc);
            using var gzip = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            return Parse(reader);
        }
        return null;
    }

    /// <summary>uname -r, e.g. "6.18.44-fc-v595".</summary>
    public static string KernelRelease() => File.ReadAllText("/proc/sys/kernel/osrelease").Trim();

    /// <summary>
    /// LINUX_VERSION_CODE from a release string as libbpf computes it: KERNEL_VERSION(major, minor, patch) with the
    /// patch level capped at 255. 0 when the release doesn't start with "a.b.c".
    /// </summary>
    public static uint VersionCode(string release)
    {
        Span<uint> parts = stackalloc uint[3];
        int part = 0, i = 0;
        while (part < 3)
        {
            int start = i;
            uint value = 0;
            while (i < release.Length && char.IsAsciiDigit(release[i]) && i - start < 9) value = value * 10 + (uint)(release[i++] - '0');
            if (i == start) return 0;
            parts[part++] = value;
            if (part < 3)
            {
                if (i >= release.Length || release[i] != '.') return 0;
                i++;
            }
        }
        return (parts[0] << 16) + (parts[1] << 8) + Math.Min(parts[2], 255u);
    }
}
