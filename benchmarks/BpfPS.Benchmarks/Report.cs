using System.Globalization;
using System.Text;

namespace BpfPS.Benchmarks;

internal sealed class Report
{
    public BtfFigures? Btf { get; set; }
    public List<LoadFigures> Loads { get; } = new();

    private static string F(double v, string format = "0.00") =>
        double.IsNaN(v) ? "n/a" : v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>The 1-minute load average when the report object was created (the start of the run).</summary>
    private string LoadAverageAtStart { get; } = LoadAverage();

    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    private static string Machine()
    {
        string cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name"))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        string kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        return $"{cpu}, {Environment.ProcessorCount} cores, Linux {kernel}, .NET {Environment.Version}";
    }

    public void PrintAndWrite(string path)
    {
        var md = new StringBuilder();
        md.AppendLine("# Performance");
        md.AppendLine();
        md.AppendLine($"Measured by `dotnet pwsh ./build.ps1 bench` on {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC: {Machine()}.");
        md.AppendLine("libbpf is Debian's libbpf 1.1, driven by `benchmarks/libbpf/bench_libbpf.c` in the same run; time inside bpf() is");
        md.AppendLine("measured for both (BpfPS: `SyscallStats`; libbpf: an interposed `syscall()`). Warm = the process already holds the");
        md.AppendLine("shared kernel BTF spec (as a runspace does after its first load); libbpf re-parses vmlinux BTF on every load.");
        md.AppendLine();

        if (Btf is { } b)
        {
            md.AppendLine("## Kernel BTF: open + name index + `task_struct`");
            md.AppendLine();
            md.AppendLine("| what | median ms | min ms | thread CPU ms | allocated |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            md.AppendLine($"| BpfPS, kernel cache cold (`KernelBtf.GetVmlinux`), warm process | {F(b.FreshParse.MedianMs, "0.000")} | {F(b.FreshParse.MinMs, "0.000")} | {F(b.FreshParse.CpuMedianMs, "0.000")} | {F(b.FreshParse.AllocatedBytes / 1048576.0)} MiB |");
            md.AppendLine($"| BpfPS, a spec from a file (`BtfSpec.LoadFile`, as `-KernelBtf`) | {F(b.FileParse.MedianMs, "0.000")} | {F(b.FileParse.MinMs, "0.000")} | | |");
            md.AppendLine($"| BpfPS, first thing in a new process (incl. JIT) | {F(Stats.Median(b.FirstInProcessMs), "0.000")} | {F(b.FirstInProcessMs.Min(), "0.000")} | | |");
            md.AppendLine(b.Libbpf is { } l
                ? $"| libbpf `btf__load_vmlinux_btf` + `btf__find_by_name_kind` | {F(l.MedianMs, "0.000")} | {F(l.MinMs, "0.000")} | {F(l.CpuMedianMs, "0.000")} | |"
                : $"| libbpf | refused: {b.LibbpfRefusal} | | | |");
            md.AppendLine();
            md.AppendLine($"- vmlinux BTF: {b.TypeCount:N0} types, {b.RawBytes:N0} bytes raw. A spec read from a file retains {b.RetainedBytes:N0} bytes " +
                          $"({F(b.RetainedBytes / (double)b.RawBytes, "0.00")}x raw; target at most 1.5x); the kernel cache's spec retains {b.KernelCacheRetainedBytes:N0} managed bytes " +
                          (b.KernelBytesMapped ? "plus a read-only mapping of the kernel's own copy of the BTF (no copy)." : "(the bytes were read: this kernel does not allow mapping them)."));
            md.AppendLine($"- Warm lookup by name (`FindByName` + `GetType`): {F(b.WarmLookupNs / 1000.0, "0.000")} µs, {F(b.WarmLookupBytes, "0.0")} bytes allocated per lookup.");
            md.AppendLine();
        }

        md.AppendLine("## Loading collections (open + load + close per iteration)");
        md.AppendLine();
        md.AppendLine("Wall times are medians; `thread CPU` is the median of the loading thread's user + system CPU time (getrusage),");
        md.AppendLine("which other processes on the machine do not inflate; `user CPU` is the user-space share of it (a mean: Linux splits");
        md.AppendLine("user from system time by timer ticks). The ratios to libbpf are given both ways. libbpf and BpfPS run in alternating");
        md.AppendLine("rounds so both see the same machine; libbpf's first load in each harness process (which also probes kernel features,");
        md.AppendLine("cached for the life of the process) is dropped.");
        md.AppendLine();
        md.AppendLine("| object | programs | loader | median ms | min ms | in bpf() ms | user-space ms | user/bpf() | thread CPU ms | user CPU ms | allocated per load | objects per load | gen0 GCs per load | vs libbpf (wall) | vs libbpf (CPU) |");
        md.AppendLine("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var l in Loads)
        {
            var w = l.Warm;
            string ratio = l.Libbpf is { } lb ? F(w.MedianMs / lb.MedianMs, "0.00") + "x" : "n/a";
            string cpuRatio = l.Libbpf is { } lc ? F(w.CpuMedianMs / lc.CpuMedianMs, "0.00") + "x" : "n/a";
            md.AppendLine($"| {l.Name} | {l.Programs} | BpfPS warm | {F(w.MedianMs)} | {F(w.MinMs)} | {F(w.SyscallMedianMs)} | {F(w.UserMedianMs)} | " +
                          $"{F(100 * w.UserMedianMs / w.SyscallMedianMs, "0")}% | {F(w.CpuMedianMs)} | {F(w.UserCpuMeanMs)} | {F(w.AllocatedBytes / 1024.0, "0")} KiB | " +
                          $"{(l.Allocations is { } a ? "~" + F(a.EstimatedObjectsPerLoad, "0") : "n/a")} | {F(w.Gen0PerRun, "0.00")} | {ratio} | {cpuRatio} |");
            md.AppendLine($"| | | BpfPS first in a new process | {F(Stats.Median(l.FirstInProcessMs))} | {F(l.FirstInProcessMs.Min())} | | | | | | | | | | |");
            md.AppendLine(l.Libbpf is { } b2
                ? $"| | | libbpf 1.1 | {F(b2.MedianMs)} | {F(b2.MinMs)} | {F(b2.SyscallMedianMs)} | {F(b2.UserMedianMs)} | {F(100 * b2.UserMedianMs / b2.SyscallMedianMs, "0")}% | {F(b2.CpuMedianMs)} | | | | | 1.00x | 1.00x |"
                : $"| | | libbpf 1.1 | refused: {l.LibbpfRefusal?.Replace("|", "/")} | | | | | | | | | | | | |");
        }
        md.AppendLine();
        md.AppendLine("- Warm loads are measured after the JIT has settled (repeated until nothing is recompiled); objects per load are counted");
        md.AppendLine("  from the runtime's sampled-allocation events in a child process (see `AllocationCount.cs`: corrected for unreported");
        md.AppendLine("  remainders by exact/reported bytes).");
        foreach (var l in Loads)
        {
            if (l.Allocations is not { } a) continue;
            md.AppendLine($"- {l.Name}, most allocated bytes per load: " +
                          string.Join(", ", a.TopTypes.Take(6).Select(t => $"{t.Type} {F(t.Bytes / 1024, "0.0")} KiB ({F(t.Objects, "0")})")) + ".");
        }
        if (Loads.Count >= 2 && Loads[0].Name.Contains("100") && Loads[1].Name.Contains("500"))
            md.AppendLine($"- 500 vs 100 programs: BpfPS {F(Loads[1].Warm.MedianMs / Loads[0].Warm.MedianMs, "0.0")}x wall, " +
                          $"{F(Loads[1].Warm.CpuMedianMs / Loads[0].Warm.CpuMedianMs, "0.0")}x CPU" +
                          (Loads[0].Libbpf is { } a && Loads[1].Libbpf is { } c
                              ? $"; libbpf {F(c.MedianMs / a.MedianMs, "0.0")}x wall, {F(c.CpuMedianMs / a.CpuMedianMs, "0.0")}x CPU" : "") + " (target: about 5x).");
        md.AppendLine();

        md.AppendLine("### bpf() calls per load");
        md.AppendLine();
        md.AppendLine("| object | command | BpfPS calls | BpfPS ms | libbpf calls | libbpf ms |");
        md.AppendLine("|---|---|---:|---:|---:|---:|");
        foreach (var l in Loads)
        {
            var commands = l.Calls.Select(c => c.Command).Union(l.LibbpfCalls?.Select(c => c.Command) ?? []).Order();
            foreach (var command in commands)
            {
                var ours = l.Calls.FirstOrDefault(c => c.Command == command);
                var theirs = l.LibbpfCalls?.FirstOrDefault(c => c.Command == command) ?? default;
                md.AppendLine($"| {l.Name} | {command} | {F(ours.Calls, "0.#")} | {F(ours.Ms, "0.000")} | " +
                              (l.LibbpfCalls is null ? "n/a | n/a |" : $"{F(theirs.Calls, "0.#")} | {F(theirs.Ms, "0.000")} |"));
            }
        }
        md.AppendLine();
        md.AppendLine($"- Load average (1 min) at the start and end of the run: {LoadAverageAtStart} and {LoadAverage()}.");
        md.AppendLine();

        var text = md.ToString();
        Console.WriteLine();
        Console.WriteLine(text);
        var notesMarker = "<!-- notes -->";
        string notes = File.Exists(path) && File.ReadAllText(path) is var old && old.Contains(notesMarker)
            ? old[old.IndexOf(notesMarker, StringComparison.Ordinal)..] : notesMarker + "\n";
        // The pwsh sessions table (benchmarks/pwsh) stays first, under the title.
        const string sessionsStart = "<!-- sessions -->", sessionsEnd = "<!-- /sessions -->";
        if (File.Exists(path) && File.ReadAllText(path) is var previous && previous.IndexOf(sessionsStart, StringComparison.Ordinal) is int from and >= 0
            && previous.IndexOf(sessionsEnd, StringComparison.Ordinal) is int to && to > from)
        {
            int title = text.IndexOf('\n') + 1;
            text = text[..title] + "\n" + previous[from..(to + sessionsEnd.Length)] + "\n" + text[title..];
        }
        File.WriteAllText(path, text + "\n" + notes);
        Console.WriteLine($"Written to {path}");
    }
}
