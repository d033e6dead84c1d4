using System.Management.Automation;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>
/// Shows the loader's per-program progress as a progress bar. Reports arrive on the pipeline thread (the load runs
/// synchronously there), which is the only thread allowed to call WriteProgress; System.Progress would post them to
/// the thread pool instead.
/// </summary>
internal sealed class LoadProgressReporter(Cmdlet cmdlet, string path, int activityId) : IProgress<LoadProgress>
{
    private readonly int _threadId = Environment.CurrentManagedThreadId;
    private readonly string _activity = $"Loading {System.IO.Path.GetFileName(path)}";

    public void Report(LoadProgress value)
    {
        if (Environment.CurrentManagedThreadId != _threadId) return; // never write from another thread
        var record = new ProgressRecord(activityId, _activity,
            value.Current is null ? "Done" : $"Program {value.Done + 1} of {value.Total}: {value.Current}");
        if (value.Total > 0) record.PercentComplete = Math.Min(100, value.Done * 100 / value.Total);
        if (value.Current is null) record.RecordType = ProgressRecordType.Completed;
        cmdlet.WriteProgress(record);
    }
}
