using System.Collections.Concurrent;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parallel;

/// <summary>The scheduler under the parallel program load, with jobs whose timing the test controls.</summary>
public class ParallelLoadSchedulingTests
{
    [Fact]
    public void FirstFailureInOrderWinsEvenWhenALaterItemFailsFirst()
    {
        var laterFailed = new ManualResetEventSlim();
        var e = Assert.Throws<InvalidOperationException>(() => ParallelLoad.Run(6, 3, _ => [], i =>
        {
            if (i == 1)
            {
                Assert.True(laterFailed.Wait(TimeSpan.FromSeconds(10)), "item 2 never failed");
                throw new InvalidOperationException("item 1");
            }
            if (i == 2)
            {
                laterFailed.Set();
                throw new InvalidOperationException("item 2");
            }
            return i;
        }, (_, _) => { }));
        Assert.Equal("item 1", e.Message);
    }

    [Fact]
    public void NothingAfterAFailureStartsAndEverythingStartedFinishesBeforeRunReturns()
    {
        var started = new ConcurrentBag<int>();
        int running = 0;
        Assert.Throws<InvalidOperationException>(() => ParallelLoad.Run(50, 4, _ => [], i =>
        {
            started.Add(i);
            Interlocked.Increment(ref running);
            try
            {
                if (i == 3) throw new InvalidOperationException("item 3");
                Thread.Sleep(5);
                return i;
            }
            finally { Interlocked.Decrement(ref running); }
        }, (_, _) => { }));
        Assert.Equal(0, Volatile.Read(ref running));
        Assert.Contains(3, started);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Contains(i, started));   // all before the failure ran
        Assert.True(started.Max() <= 3 + 4, $"item {started.Max()} started after item 3 had failed");
    }

    [Fact]
    public void ResultsKeepTheirPlaceAndCompletionsArriveOnTheCallingThread()
    {
        int caller = Environment.CurrentManagedThreadId;
        var threads = new ConcurrentBag<int>();
        var completions = new List<int>();
        var results = ParallelLoad.Run(40, 4, _ => [], i =>
        {
            threads.Add(Environment.CurrentManagedThreadId);
            Thread.Sleep(i % 3);
            return i * 10;
        }, (i, r) =>
        {
            Assert.Equal(caller, Environment.CurrentManagedThreadId);
            Assert.Equal(i * 10, r);
            completions.Add(i);
        });
        Assert.Equal(Enumerable.Range(0, 40).Select(i => i * 10), results);
        Assert.Equal(Enumerable.Range(0, 40), completions.Order());
    }

    [Fact]
    public void AnItemStartsOnlyAfterItsPrerequisitesFinished()
    {
        var finished = new ConcurrentDictionary<int, bool>();
        ParallelLoad.Run(8, 4, i => i == 5 ? [1, 2] : [], i =>
        {
            if (i == 1) Thread.Sleep(100);     // the prerequisite is slow: item 5 must wait for it
            if (i == 5) Assert.True(finished.ContainsKey(1) && finished.ContainsKey(2), "item 5 started before its prerequisites finished");
            finished[i] = true;
            return i;
        }, (_, _) => { });
        Assert.Equal(8, finished.Count);
    }

    [Fact]
    public void ADependentOfAFailedItemIsNotRunAndTheFailureIsReported()
    {
        var ran = new ConcurrentBag<int>();
        var e = Assert.Throws<InvalidOperationException>(() => ParallelLoad.Run(4, 4, i => i == 3 ? [0] : [], i =>
        {
            ran.Add(i);
            if (i == 0) { Thread.Sleep(50); throw new InvalidOperationException("item 0"); }
            return i;
        }, (_, _) => { }));
        Assert.Equal("item 0", e.Message);
        Assert.DoesNotContain(3, ran);
    }

    [Fact]
    public void ACallbackFailureWaitsForRunningJobsAndIsRethrown()
    {
        int running = 0;
        var e = Assert.Throws<OperationCanceledException>(() => ParallelLoad.Run(20, 2, _ => [], i =>
        {
            Interlocked.Increment(ref running);
            Thread.Sleep(10);
            Interlocked.Decrement(ref running);
            return i;
        }, (_, _) => throw new OperationCanceledException("stopped")));
        Assert.Equal("stopped", e.Message);
        Assert.Equal(0, Volatile.Read(ref running));
    }

    [Fact]
    public void OneByOneRunsInOrderOnTheCallingThread()
    {
        int caller = Environment.CurrentManagedThreadId;
        var order = new List<int>();
        ParallelLoad.Run(5, 1, _ => [], i => { Assert.Equal(caller, Environment.CurrentManagedThreadId); order.Add(i); return i; }, (_, _) => { });
        Assert.Equal([0, 1, 2, 3, 4], order);
    }

    [Fact]
    public void OrderMovesAnItemAfterWhatItDependsOnAndKeepsTheRestInPlace()
    {
        // item 1 needs item 4 (ordered after it); item 4 needs item 3.
        var order = ParallelLoad.Order(6, i => i switch { 1 => [4], 4 => [3], _ => [] });
        Assert.Equal([0, 3, 4, 1, 2, 5], order);
        Assert.Equal([0, 1, 2], ParallelLoad.Order(3, _ => []));
    }

    [Fact]
    public void OrderRefusesACycle()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ParallelLoad.Order(3, i => i switch { 0 => [2], 2 => [0], _ => [] }));
        Assert.Contains("depends on itself", e.Message);
    }
}
