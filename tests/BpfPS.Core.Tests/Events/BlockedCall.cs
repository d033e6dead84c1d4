namespace BpfPS.Core.Tests.Events;

/// <summary>
/// A blocking call on a thread of its own, started and inside the call before the test goes on: a thread-pool task may
/// start hundreds of milliseconds late when the pool is busy, and a test timing how fast a wait ends must not time that.
/// </summary>
internal sealed class BlockedCall<T>
{
    private readonly Thread _thread;
    private T? _result;

    public BlockedCall(Func<T> call)
    {
        using var started = new ManualResetEventSlim();
        _thread = new Thread(() => { started.Set(); _result = call(); }) { IsBackground = true };
        _thread.Start();
        if (!started.Wait(5000)) throw new TimeoutException("the blocking call's thread did not start");
        Thread.Sleep(50); // from the thread's start into the kernel wait
    }

    /// <summary>True when the call returned within <paramref name="timeoutMs"/>.</summary>
    public bool Wait(int timeoutMs) => _thread.Join(timeoutMs);

    /// <summary>What the call returned (after <see cref="Wait"/> said it did).</summary>
    public T? Result => _result;
}
