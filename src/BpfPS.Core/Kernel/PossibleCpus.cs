namespace BpfPS.Core.Kernel;

/// <summary>How many CPUs the kernel may ever bring up: the size of per-CPU map values and of perf event arrays.</summary>
public static class PossibleCpus
{
    private static readonly Lazy<int> s_count = new(() => Parse(File.ReadAllText("/sys/devices/system/cpu/possible")));

    /// <summary>From /sys/devices/system/cpu/possible (e.g. "0-3" or "0,2-5"), as libbpf_num_possible_cpus reads it.</summary>
    public static int Count => s_count.Value;

    /// <summary>Counts the CPUs in a kernel cpu-list string.</summary>
    /// <exception cref="FormatException">Not a cpu list.</exception>
    public static int Parse(string list)
    {
        int count = 0;
        foreach (var part in list.Trim().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-');
            if (dash < 0) { _ = int.Parse(part); count++; continue; }
            int first = int.Parse(part[..dash]), last = int.Parse(part[(dash + 1)..]);
            if (last < first) throw new FormatException($"bad cpu range '{part}'");
            count += last - first + 1;
        }
        if (count == 0) throw new FormatException($"empty cpu list '{list}'");
        return count;
    }
}
