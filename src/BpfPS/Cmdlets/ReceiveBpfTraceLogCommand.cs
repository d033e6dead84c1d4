using System.Diagnostics;
using System.Management.Automation;
using BpfPS.Core.Events;

namespace BpfPS.Cmdlets;

/// <summary>
/// Receive-BpfTraceLog: the lines BPF programs print with bpf_printk, read from the kernel's trace_pipe as objects
/// (time, CPU, pid, command, message), until -First, -Timeout, -Duration or Ctrl+C. Mounts tracefs when it is missing.
/// The kernel does not say which program printed a line, so lines are chosen by process, command and message.
/// </summary>
[Cmdlet(VerbsCommunications.Receive, "BpfTraceLog")]
[OutputType(typeof(TraceLine))]
public sealed class ReceiveBpfTraceLogCommand : PSCmdlet, IDisposable
{
    private volatile TracePipeReader? _reader;
    private volatile bool _stopping;

    /// <summary>Only lines written while these processes (thread ids, as the trace shows them) ran.</summary>
    [Parameter]
    public int[]? ProcessId { get; set; }

    /// <summary>Only lines whose command name matches one of these wildcards.</summary>
    [Parameter]
    [SupportsWildcards]
    public string[]? Command { get; set; }

    /// <summary>Only lines whose message matches one of these wildcards (e.g. the prefix a program prints).</summary>
    [Parameter(Position = 0)]
    [SupportsWildcards]
    public string[]? Message { get; set; }

    /// <summary>Stop after this many lines.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public int First { get; set; }

    /// <summary>Stop when no matching line arrived for this many seconds.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double Timeout { get; set; } = -1;

    /// <summary>Stop after this many seconds in all.</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double Duration { get; set; } = -1;

    protected override void EndProcessing()
    {
        TracePipeReader reader;
        try
        {
            reader = new TracePipeReader();
        }
        catch (BpfEventException e)
        {
            ThrowTerminatingError(new ErrorRecord(e, "TracePipeUnavailable", ErrorCategory.OpenError, TracePipeReader.TracefsRoot));
            return;
        }
        _reader = reader;
        try
        {
            if (!_stopping) Run(reader);
        }
        finally
        {
            _reader = null;
            reader.Dispose();
        }
    }

    protected override void StopProcessing()
    {
        _stopping = true;
        _reader?.Wake();
    }

    private void Run(TracePipeReader reader)
    {
        var commands = Command?.Select(c => new WildcardPattern(c, WildcardOptions.IgnoreCase)).ToArray();
        var messages = Message?.Select(m => new WildcardPattern(m, WildcardOptions.IgnoreCase)).ToArray();
        long start = Stopwatch.GetTimestamp();
        long lastLine = Environment.TickCount64;
        int written = 0;
        while (!_stopping)
        {
            long wait = -1;
            if (Duration >= 0) wait = Math.Max(0, (long)(Duration * 1000 - Stopwatch.GetElapsedTime(start).TotalMilliseconds));
            if (Timeout >= 0)
            {
                long idle = Math.Max(0, (long)(Timeout * 1000) - (Environment.TickCount64 - lastLine));
                wait = wait < 0 ? idle : Math.Min(wait, idle);
            }
            if (wait == 0) return;
            var text = reader.ReadLine((int)Math.Min(wait, int.MaxValue));
            if (text is null) continue;   // woken or timed out: the loop head decides whether a limit was reached
            var line = TraceLine.Parse(text);
            if (line is null)
            {
                WriteVerbose(text);   // "CPU:N [LOST n EVENTS]" and other notices
                continue;
            }
            if (ProcessId is { Length: > 0 } && !ProcessId.Contains(line.ProcessId)) continue;
            if (commands is not null && !commands.Any(c => c.IsMatch(line.Command))) continue;
            if (messages is not null && !messages.Any(m => m.IsMatch(line.Message))) continue;
            lastLine = Environment.TickCount64;
            WriteObject(line);
            if (First > 0 && ++written >= First) return;
        }
    }

    public void Dispose() => _reader?.Dispose();
}
