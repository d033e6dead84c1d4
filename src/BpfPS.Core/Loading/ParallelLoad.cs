namespace BpfPS.Core.Loading;

/// <summary>
/// Runs one job per item on up to <c>maxParallelism</c> threads, for a collection's programs: the kernel verifies
/// concurrent BPF_PROG_LOAD calls in parallel. The promises of a one-by-one load hold:
/// <list type="bullet">
/// <item>Items start in order; an item waits for its prerequisites, which must come before it in that order.</item>
/// <item>After a failure no item ordered after it starts; those already running finish (their results are kept, so
///   the caller can undo them). The exception thrown is that of the first failing item in order, which is the one a
///   one-by-one run would have hit: every item before it was started and finished.</item>
/// <item><c>completed</c> is called on the calling thread, once per item that finished, in finishing order.</item>
/// </list>
/// </summary>
internal static class ParallelLoad
{
    /// <param name="count">Items, 0..count-1, in the order a one-by-one run would take them.</param>
    /// <param name="maxParallelism">Threads at most; 1 (or one item) runs everything in order on the calling thread.</param>
    /// <param name="prerequisites">Items that must have finished before item i starts (all smaller than i).</param>
    /// <param name="run">The job for item i (on any thread).</param>
    /// <param name="completed">Called on the calling thread after item i finished without error.</param>
    /// <returns>The result of every item (all of them, or the exception of the first failing one is thrown).</returns>
    public static T[] Run<T>(int count, int maxParallelism, Func<int, IReadOnlyList<int>> prerequisites, Func<int, T> run, Action<int, T> completed)
    {
        var results = new T[count];
        if (maxParallelism <= 1 || count <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                results[i] = run(i);
                completed(i, results[i]);
            }
            return results;
        }

        var state = new State(count);
        var finished = new FinishedQueue(count);
        int workers = Math.Min(maxParallelism, count);
        var tasks = new Task[workers];
        for (int w = 0; w < workers; w++)
            tasks[w] = Task.Run(() =>
            {
                for (int i; (i = state.Next()) >= 0;)
                {
                    try
                    {
                        foreach (var before in prerequisites(i))
                        {
                            if (before >= i) throw new InvalidOperationException($"item {i} cannot wait for item {before}, which comes after it");
                            state.Done[before].Wait();
                            if (state.Failed[before]) throw new PrerequisiteFailedException();
                        }
                        results[i] = run(i);
                        finished.Add(i);
                    }
                    catch (Exception e)
                    {
                        state.Fail(i, e);
                    }
                    finally
                    {
                        state.Done[i].Set();
                    }
                }
            });
        Exception? callbackFailure = null;
        using (var all = Task.WhenAll(tasks).ContinueWith(_ => finished.CompleteAdding(), TaskScheduler.Default))
        {
            try
            {
                for (int i; (i = finished.Take()) >= 0;)
                    if (!state.HasFailed) completed(i, results[i]);
            }
            catch (Exception e)
            {
                // E.g. the pipeline was stopped while reporting progress: start nothing more, and never return (or let
                // the caller undo the load) while a worker may still create kernel objects.
                callbackFailure = e;
                state.Stop();
            }
            all.Wait();
        }
        foreach (var done in state.Done) done.Dispose();
        if ((callbackFailure ?? state.FirstFailure) is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        return results;
    }

    /// <summary>
    /// The order to run items in: object order, except that an item moves after the items it depends on (a program that
    /// needs another program of the object ordered after it). Stable: independent items keep their relative order.
    /// </summary>
    /// <exception cref="InvalidOperationException">The dependencies form a cycle (the message names one item in it).</exception>
    public static int[] Order(int count, Func<int, IEnumerable<int>> dependsOn)
    {
        var order = new List<int>(count);
        var state = new byte[count]; // 0 unvisited, 1 in progress, 2 placed
        void Place(int i)
        {
            if (state[i] == 2) return;
            if (state[i] == 1) throw new InvalidOperationException($"item {i} depends on itself through other items");
            state[i] = 1;
            foreach (var d in dependsOn(i)) Place(d);
            state[i] = 2;
            order.Add(i);
        }
        for (int i = 0; i < count; i++) Place(i);
        return order.ToArray();
    }

    /// <summary>
    /// Finished items for the calling thread, in finishing order. A plain array under a lock rather than a generic
    /// concurrent collection over int, whose code ReadyToRun cannot ship: it would be compiled at every session's first load.
    /// </summary>
    private sealed class FinishedQueue(int capacity)
    {
        private readonly int[] _items = new int[capacity];
        private int _added, _taken;
        private bool _complete;

        public void Add(int item)
        {
            lock (_items)
            {
                _items[_added++] = item;
                Monitor.Pulse(_items);
            }
        }

        public void CompleteAdding()
        {
            lock (_items)
            {
                _complete = true;
                Monitor.Pulse(_items);
            }
        }

        /// <summary>The next finished item, waiting for one; -1 once all are taken and no more will come.</summary>
        public int Take()
        {
            lock (_items)
            {
                while (_taken == _added && !_complete) Monitor.Wait(_items);
                return _taken < _added ? _items[_taken++] : -1;
            }
        }
    }

    /// <summary>Raised in place of an item whose prerequisite failed: that failure, ordered before it, is reported.</summary>
    private sealed class PrerequisiteFailedException : Exception;

    private sealed class State(int count)
    {
        private readonly object _gate = new();
        private int _next = -1;
        private int _firstFailed = int.MaxValue;

        public readonly ManualResetEventSlim[] Done = NewEvents(count);
        public readonly bool[] Failed = new bool[count];
        public Exception? FirstFailure;
        public bool HasFailed => Volatile.Read(ref _firstFailed) != int.MaxValue;

        private static ManualResetEventSlim[] NewEvents(int count)
        {
            var events = new ManualResetEventSlim[count];
            for (int i = 0; i < count; i++) events[i] = new ManualResetEventSlim();
            return events;
        }

        /// <summary>The next item to start, or -1 when all have started or one before the next has failed.</summary>
        public int Next()
        {
            lock (_gate)
            {
                if (_next + 1 >= count || _next + 1 > _firstFailed) return -1;
                return ++_next;
            }
        }

        public void Stop()
        {
            lock (_gate) _next = count;
        }

        public void Fail(int i, Exception e)
        {
            lock (_gate)
            {
                Failed[i] = true;
                if (i < _firstFailed && e is not PrerequisiteFailedException)
                {
                    _firstFailed = i;
                    FirstFailure = e;
                }
            }
        }
    }
}
