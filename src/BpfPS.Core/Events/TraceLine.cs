using System.Globalization;
using System.Text.RegularExpressions;

namespace BpfPS.Core.Events;

/// <summary>One line of the kernel's trace output (trace_pipe), as bpf_printk writes it.</summary>
/// <param name="Command">The task's command name (comm), "&lt;...&gt;" when the kernel no longer knew it.</param>
/// <param name="ProcessId">The thread id the line was written from (what the trace calls pid).</param>
/// <param name="Cpu">The CPU.</param>
/// <param name="Flags">The irq/preempt flags column ("d..31"), empty when the trace omits it.</param>
/// <param name="Timestamp">Seconds on the trace clock (by default the local clock, close to CLOCK_MONOTONIC).</param>
/// <param name="Function">What wrote the line: "bpf_trace_printk" for bpf_printk.</param>
/// <param name="Message">The text the program printed.</param>
public sealed partial record TraceLine(string Command, int ProcessId, int Cpu, string Flags, double Timestamp, string Function, string Message)
{
    /// <summary>The whole line as the kernel wrote it.</summary>
    public string Line { get; init; } = "";

    /// <summary>
    /// Parses "  comm-pid  [cpu] flags  secs.usecs: function: message" (the flags and a "(tgid)" column are optional, as
    /// the trace options make them); null for lines in another shape (a "CPU:N [LOST n EVENTS]" notice).
    /// </summary>
    public static TraceLine? Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var m = Pattern().Match(line);
        if (!m.Success) return null;
        return new TraceLine(
            m.Groups["comm"].Value.Trim(),
            int.Parse(m.Groups["pid"].Value, CultureInfo.InvariantCulture),
            int.Parse(m.Groups["cpu"].Value, CultureInfo.InvariantCulture),
            m.Groups["flags"].Value,
            double.Parse(m.Groups["ts"].Value, CultureInfo.InvariantCulture),
            m.Groups["func"].Value,
            m.Groups["msg"].Value) { Line = line };
    }

    // The comm may itself contain '-' and spaces: it is everything up to the last "-digits" before the CPU column.
    [GeneratedRegex(@"^\s*(?<comm>.*?)-(?<pid>\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(?<cpu>\d+)\]\s+(?:(?<flags>[^\s\d][^\s]*|[\.\w]{4,5})\s+)?(?<ts>\d+\.\d+):\s+(?<func>[^:]+):\s?(?<msg>.*)$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
