using System.Text;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>
/// Reads the kernel's trace_pipe (where bpf_printk writes) line by line, mounting tracefs at /sys/kernel/tracing first
/// when it is not mounted. Reading consumes: lines read here are gone for other trace_pipe readers.
/// </summary>
/// <remarks>Owns the pipe descriptor and an epoll set whose eventfd lets <see cref="Wake"/> end a blocked read.</remarks>
public sealed unsafe class TracePipeReader : IDisposable
{
    /// <summary>Where tracefs belongs.</summary>
    public const string TracefsRoot = "/sys/kernel/tracing";

    private readonly BpfFd _pipe;
    private readonly EventWaiter _waiter;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly StringBuilder _partial = new();
    private readonly Queue<string> _lines = new();
    private int _disposed;

    /// <exception cref="BpfEventException">tracefs is missing and cannot be mounted, or trace_pipe cannot be opened.</exception>
    public TracePipeReader(string? tracefs = null)
    {
        Root = tracefs ?? EnsureTracefs();
        string path = Path.Combine(Root, "trace_pipe");
        int fd = EventNative.Open(path, EventNative.ORdonly | EventNative.ONonblock | EventNative.OCloexec);
        if (fd < 0)
        {
            int errno = EventNative.LastError;
            throw new BpfEventException($"cannot open {path}: {Errno.Describe(errno)}", errno);
        }
        _pipe = new BpfFd(fd);
        try
        {
            _waiter = new EventWaiter();
            _waiter.Add(_pipe);
        }
        catch
        {
            _pipe.Dispose();
            throw;
        }
    }

    /// <summary>The tracefs directory read.</summary>
    public string Root { get; }

    /// <summary>
    /// The tracefs directory (Links.Tracefs: /sys/kernel/tracing, mounted there when nothing is mounted yet; needs root).
    /// </summary>
    /// <exception cref="BpfEventException">Not mounted and the mount failed.</exception>
    public static string EnsureTracefs()
    {
        try
        {
            return Links.Tracefs.Root;
        }
        catch (IOException e)
        {
            throw new BpfEventException(e.Message, 0, e);
        }
    }

    /// <summary>
    /// The next line, waiting up to <paramref name="timeoutMs"/> (-1: forever); null when the time passed or
    /// <see cref="Wake"/> / Dispose ended the wait.
    /// </summary>
    public string? ReadLine(int timeoutMs)
    {
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        while (true)
        {
            if (_lines.Count > 0) return _lines.Dequeue();
            if (Volatile.Read(ref _disposed) != 0 || _waiter.IsWoken) return null;
            if (Fill() > 0) continue;
            int left = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
            if (timeoutMs >= 0 && left == 0) return null;
            if (_waiter.Wait(left) != WaitOutcome.Ready && _lines.Count == 0 && Fill() == 0)
                if (_waiter.IsWoken || (timeoutMs >= 0 && Environment.TickCount64 >= deadline)) return null;
        }
    }

    /// <summary>Ends a blocked <see cref="ReadLine"/> from another thread.</summary>
    public void Wake() => _waiter.Wake();

    /// <summary>Reads what the pipe holds now into complete lines; returns bytes read.</summary>
    private int Fill()
    {
        nint n;
        bool added = false;
        _pipe.DangerousAddRef(ref added);
        try
        {
            fixed (byte* p = _buffer) n = EventNative.Read(_pipe.Value, p, (nuint)_buffer.Length);
        }
        finally
        {
            if (added) _pipe.DangerousRelease();
        }
        if (n < 0)
        {
            int errno = EventNative.LastError;
            if (errno is EventNative.EAGAIN or EventNative.EINTR) return 0;
            throw new BpfEventException($"reading {Root}/trace_pipe failed: {Errno.Describe(errno)}", errno);
        }
        _partial.Append(Encoding.UTF8.GetString(_buffer, 0, (int)n));
        int start = 0;
        string text = _partial.ToString();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\n') continue;
            _lines.Enqueue(text[start..i]);
            start = i + 1;
        }
        _partial.Clear().Append(text, start, text.Length - start);
        return (int)n;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _waiter.Dispose();
        _pipe.Dispose();
    }
}
