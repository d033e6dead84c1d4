using System.Diagnostics;
using System.Globalization;
using System.Text;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

/// <summary>
/// Measures the core in a warmed console process (the floor under what pwsh sessions see) and writes docs/performance.md:
/// kernel BTF open/lookup against libbpf's btf__load_vmlinux_btf, and per-load cost of many-program objects against
/// libbpf's open+load+close, each split into time inside bpf() and user-space overhead.
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        // Child mode: one first-in-process measurement, printed for the parent.
        if (args.Length > 0 && args[0] == "--first-in-process")
            return FirstInProcess.Run(args.Skip(1).ToArray());
        if (args.Length > 2 && args[0] == "--allocations")
            return AllocationCount.Run(args[1], int.Parse(args[2], CultureInfo.InvariantCulture));
        if (args.Length > 0 && args[0] == "--parallel-threshold")
            return ParallelThreshold.Run(args[1..]);
        if (args.Length > 0 && args[0] == "--events")
            return EventBench.Run(args[1..]);
        if (args.Length > 1 && args[0] == "--profile")
            return ProfileMode.Run(Path.GetFullPath(args[1]), args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 50);

        int loads = ArgInt(args, "--loads", 30);
        var root = RepoRoot.Find();
        var work = Path.Combine(root, "build", "bench");
        Directory.CreateDirectory(work);

        var prerequisites = new BenchPrerequisites(root, work);
        var report = new Report();
        string libbpf = prerequisites.LibbpfHarness();
        var objects = prerequisites.Objects();

        Console.WriteLine("== Kernel BTF: open + name index + lookup of task_struct");
        report.Btf = BtfBench.Run(libbpf, root);

        foreach (var (name, path) in objects)
        {
            Console.WriteLine($"== Load {name} ({loads} warm loads each)");
            report.Loads.Add(LoadBench.Run(name, path, libbpf, loads));
        }

        report.PrintAndWrite(Path.Combine(root, "docs", "performance.md"));
        return 0;
    }

    internal static int ArgInt(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
    }
}

/// <summary>Figures for one way of doing one job, over repeated runs.</summary>
/// <remarks>
/// <see cref="CpuMs"/> is the measuring thread's CPU time (user + system, getrusage): unlike wall time it does not grow
/// when other processes compete for the cores, so ratios of CPU medians hold on a busy machine. <see cref="UserCpuMs"/> is
/// the user-space part alone (tick-sampled: compare means).
/// </remarks>
internal sealed record Sample(double[] TotalMs, double[] SyscallMs, double AllocatedBytes, double Gen0PerRun, double[]? CpuMs = null, double[]? UserCpuMs = null)
{
    public double CpuMedianMs => CpuMs is { Length: > 0 } c ? Stats.Median(c) : double.NaN;

    /// <summary>The runs of several samples as one (figures that are not per run must agree or are dropped).</summary>
    public static Sample Concat(IReadOnlyList<Sample> samples) => new(
        samples.SelectMany(s => s.TotalMs).ToArray(), samples.SelectMany(s => s.SyscallMs).ToArray(),
        samples.Select(s => s.AllocatedBytes).Average(), samples.Select(s => s.Gen0PerRun).Average(),
        samples.All(s => s.CpuMs is not null) ? samples.SelectMany(s => s.CpuMs!).ToArray() : null,
        samples.All(s => s.UserCpuMs is not null) ? samples.SelectMany(s => s.UserCpuMs!).ToArray() : null);
    public double UserCpuMeanMs => UserCpuMs is { Length: > 0 } u ? u.Average() : double.NaN;
    public double MedianMs => Stats.Median(TotalMs);
    public double MinMs => TotalMs.Min();
    public double SyscallMedianMs => SyscallMs.Length == 0 ? double.NaN : Stats.Median(SyscallMs);
    public double UserMedianMs => Stats.Median(TotalMs.Zip(SyscallMs, (t, s) => t - s).ToArray());
}

internal static class Stats
{
    public static double Median(double[] values)
    {
        if (values.Length == 0) return double.NaN;
        var sorted = values.OrderBy(v => v).ToArray();
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Ms(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalMilliseconds;
}

internal static class RepoRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "BpfPS.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Cannot find the repository root (BpfPS.sln) from the current directory.");
    }
}

/// <summary>Builds what the benchmark compares against: the libbpf harness and the many-programs objects.</summary>
internal sealed class BenchPrerequisites(string root, string work)
{
    public string LibbpfHarness()
    {
        var source = Path.Combine(root, "benchmarks", "libbpf", "bench_libbpf.c");
        var exe = Path.Combine(work, "bench_libbpf");
        if (!File.Exists(exe) || File.GetLastWriteTimeUtc(exe) < File.GetLastWriteTimeUtc(source))
            Run("gcc", $"-O2 -o {exe} {source} -lbpf -ldl");
        return exe;
    }

    public List<(string Name, string Path)> Objects()
    {
        var list = new List<(string, string)>();
        foreach (var n in new[] { "manyprogs_100", "manyprogs_500" })
        {
            var source = Path.Combine(root, "benchmarks", "fixtures", n + ".c");
            var obj = Path.Combine(work, n + ".o");
            if (!File.Exists(obj) || File.GetLastWriteTimeUtc(obj) < File.GetLastWriteTimeUtc(source))
                Run("clang-14", $"-target bpf -O2 -g -I/usr/include/{Environment.GetEnvironmentVariable("HOSTTYPE") ?? "x86_64"}-linux-gnu -c {source} -o {obj}");
            list.Add((n + ".o", obj));
        }
        var cilium = Path.GetFullPath(Path.Combine(root, "..", "shared", "bench", "cilium-manyprogs-el.elf"));
        if (File.Exists(cilium)) list.Add(("cilium-manyprogs-el.elf", cilium));
        else Console.WriteLine($"(skipping cilium's object: {cilium} not found)");
        return list;
    }

    internal static string Run(string file, string arguments)
    {
        var psi = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} {arguments} failed ({p.ExitCode}): {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>Runs the libbpf harness; each output line is "total_ns syscall_ns open_ns cpu_ns". Null when libbpf refuses the object.</summary>
    /// <param name="skipFirst">
    /// Run one more iteration and drop the first: its first load also probes kernel features, which libbpf then caches for
    /// the life of the process (as a long-lived BpfPS process keeps its kernel BTF).
    /// </param>
    public static Sample? Libbpf(string harness, string arguments, out string? refusal, bool skipFirst = false)
    {
        if (skipFirst)
        {
            var words = arguments.Split(' ');
            words[^1] = (int.Parse(words[^1], CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
            arguments = string.Join(' ', words);
        }
        var psi = new ProcessStartInfo(harness, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            refusal = stderr.Result.Trim().Split('\n').FirstOrDefault(l => l.Contains("libbpf:")) ?? stderr.Result.Trim();
            return null;
        }
        refusal = null;
        var rows = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ').Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray()).Skip(skipFirst ? 1 : 0).ToArray();
        return new Sample(rows.Select(r => r[0] / 1e6).ToArray(), rows.Select(r => r[1] / 1e6).ToArray(), double.NaN, double.NaN,
            rows.Select(r => r.Length > 3 ? r[3] / 1e6 : double.NaN).ToArray());
    }

    /// <summary>The bpf() commands of one libbpf load (after one that fills its feature cache): command, calls, ms per load.</summary>
    public static List<(BpfCommand Command, double Calls, double Ms)> LibbpfCalls(string harness, string path)
    {
        var output = Run(harness, $"calls \"{path}\" 10");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' '))
            .Select(f => ((BpfCommand)int.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture),
                double.Parse(f[2], CultureInfo.InvariantCulture) / 1e6)).ToList();
    }
}
