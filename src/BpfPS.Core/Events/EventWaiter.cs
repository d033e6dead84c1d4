using BpfPS.Core.Kernel;

namespace BpfPS.Core.Events;

/// <summary>Why <see cref="EventWaiter.Wait"/> returned.</summary>
public enum WaitOutcome
{
    /// <summary>A watched descriptor is readable: records may be waiting.</summary>
    Ready,
    /// <summary>The timeout passed with nothing to read.</summary>
    TimedOut,
    /// <summary><see cref="EventWaiter.Wake"/> was called (a Close or a cancellation from another thread).</summary>
    Woken,
}

/// <summary>
/// An epoll set over the descriptors that signal new events, plus an eventfd that <see cref="Wake"/> writes to, so
/// another thread (Ctrl+C, a CancellationToken, Close) can end a blocked wait at once. Owns both descriptors.
/// </summary>
public sealed unsafe class EventWaiter : IDisposable
{
    private const ulong WakeTag = ulong.MaxValue;
    private readonly BpfFd _epoll;
    private readonly BpfFd _wake;
    private int _woken;

    public EventWaiter()
    {
        int epoll = EventNative.EpollCreate1(EventNative.EpollCloexec);
        if (epoll < 0) throw new BpfEventException($"epoll_create1 failed: {Errno.Describe(EventNative.LastError)}", EventNative.LastError);
        _epoll = new BpfFd(epoll);
        int wake = EventNative.EventFd(0, EventNative.EfdCloexec | EventNative.EfdNonblock);
        if (wake < 0)
        {
            int errno = EventNative.LastError;
            _epoll.Dispose();
            throw new BpfEventException($"eventfd failed: {Errno.Describe(errno)}", errno);
        }
        _wake = new BpfFd(wake);
        Add(_wake, WakeTag);
    }

    /// <summary>Watches <paramref name="fd"/> for readability; <paramref name="tag"/> is reported back by nothing but kept for debugging.</summary>
    public void Add(BpfFd fd, ulong tag = 0)
    {
        byte* evt = stackalloc byte[16];
        new Span<byte>(evt, 16).Clear();
        *(uint*)evt = EventNative.EpollIn;
        *(ulong*)(evt + 4 + (EventNative.EpollEventSize == 16 ? 4 : 0)) = tag;
        using var epoll = _epoll.Lease();
        using var target = fd.Lease();
        if (EventNative.EpollCtl(epoll.Value, EventNative.EpollCtlAdd, target.Value, evt) < 0)
        {
            int errno = EventNative.LastError;
            throw new BpfEventException($"epoll_ctl(ADD, fd {target.Value}) failed: {Errno.Describe(errno)}", errno);
        }
    }

    /// <summary>True once <see cref="Wake"/> was called: every later wait returns <see cref="WaitOutcome.Woken"/> at once.</summary>
    public bool IsWoken => Volatile.Read(ref _woken) != 0;

    /// <summary>
    /// Blocks until a watched descriptor is readable, <paramref name="timeoutMs"/> passes (-1: forever) or
    /// <see cref="Wake"/> is called. Interrupted system calls are retried with the time left.
    /// </summary>
    public WaitOutcome Wait(int timeoutMs)
    {
        if (IsWoken) return WaitOutcome.Woken;
        const int MaxEvents = 8;
        byte* events = stackalloc byte[MaxEvents * 16];
        long deadline = timeoutMs < 0 ? long.MaxValue : Environment.TickCount64 + timeoutMs;
        // Both stay open for the whole wait: closing the eventfd (a concurrent Dispose) would drop its wake-up from the set.
        bool added = false, wakeAdded = false;
        _epoll.DangerousAddRef(ref added);
        try
        {
            _wake.DangerousAddRef(ref wakeAdded);
            while (true)
            {
                int wait = timeoutMs < 0 ? -1 : (int)Math.Max(0, deadline - Environment.TickCount64);
                int n = EventNative.EpollWait(_epoll.Value, events, MaxEvents, wait);
                if (n < 0)
                {
                    int errno = EventNative.LastError;
                    if (errno == EventNative.EINTR) continue;
                    throw new BpfEventException($"epoll_wait failed: {Errno.Describe(errno)}", errno);
                }
                if (IsWoken) return WaitOutcome.Woken;
                return n == 0 ? WaitOutcome.TimedOut : WaitOutcome.Ready;
            }
        }
        finally
        {
            if (wakeAdded) _wake.DangerousRelease();
            if (added) _epoll.DangerousRelease();
        }
    }

    /// <summary>Ends the current and every later wait. Thread-safe; harmless after Dispose.</summary>
    public void Wake()
    {
        Volatile.Write(ref _woken, 1);
        bool added = false;
        try
        {
            _wake.DangerousAddRef(ref added);
            ulong one = 1;
            EventNative.Write(_wake.Value, (byte*)&one, 8);
        }
        catch (ObjectDisposedException)
        {
            // Already closed: nobody can be waiting on it.
        }
        finally
        {
            if (added) _wake.DangerousRelease();
        }
    }

    public void Dispose()
    {
        Wake();
        _epoll.Dispose();
        _wake.Dispose();
    }
}
