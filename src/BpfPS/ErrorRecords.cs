using System.Management.Automation;
using BpfPS.Core;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Values;

namespace BpfPS;

/// <summary>
/// Turns the core's exceptions into ErrorRecords with a stable id, a category and the object at fault, so no raw
/// .NET exception reaches the user and scripts can branch on FullyQualifiedErrorId or CategoryInfo.
/// </summary>
internal static class ErrorRecords
{
    /// <summary>
    /// True for failures of the work itself (bad input, I/O, the kernel). PowerShell's own control flow
    /// (Ctrl+C, -ErrorAction Stop, break/continue) derives from RuntimeException and must never be caught as an error.
    /// </summary>
    public static bool IsWorkFailure(Exception e) =>
        e is not (RuntimeException or HaltCommandException or FlowControlException or OutOfMemoryException or StackOverflowException);

    public static ErrorRecord PathNotFound(string path, Exception? inner = null) =>
        new(new ItemNotFoundException($"Cannot find path '{path}' because it does not exist.", inner),
            "PathNotFound", ErrorCategory.ObjectNotFound, path);

    public static ErrorRecord NotAFile(string path) =>
        new(new ArgumentException($"'{path}' is a directory, not a file."), "PathIsDirectory", ErrorCategory.InvalidArgument, path);

    /// <summary>Maps any work failure to an ErrorRecord; <paramref name="target"/> is what was being worked on (a path, a name).</summary>
    public static ErrorRecord From(Exception e, object? target)
    {
        switch (e)
        {
            case BpfFormatException format:
                return new ErrorRecord(format, "InvalidBpfFormat", ErrorCategory.InvalidData, target ?? format.File);
            case BpfLoadException load when load.IsPermissionDenied:
                return Describe(new ErrorRecord(load, "BpfPermissionDenied", ErrorCategory.PermissionDenied, target ?? load.ObjectPath),
                    $"{load.Message} Loading BPF objects needs privileges the process lacks.", CapabilityAdvice);
            case BpfLoadException load when load.VerifierLog is not null:
                // The message ends with the log's tail; the whole log travels with the exception (VerifierLog, and Data for
                // tools that only look there).
                load.Data["VerifierLog"] = load.VerifierLog;
                return Describe(new ErrorRecord(load, "VerifierRejected", ErrorCategory.InvalidOperation, target ?? load.ObjectPath),
                    load.Message, "The full verifier log is in $Error[0].Exception.VerifierLog; -LogLevel Verbose makes it more detailed.");
            case BpfLoadException load:
                return new ErrorRecord(load, "BpfLoadFailed", ErrorCategory.InvalidOperation, target ?? load.ObjectPath);
            case BpfSyscallException syscall when syscall.IsPermissionDenied:
                return Describe(new ErrorRecord(syscall, "BpfPermissionDenied", ErrorCategory.PermissionDenied, target),
                    syscall.Message, CapabilityAdvice);
            case BpfSyscallException syscall:
                return new ErrorRecord(syscall, $"BpfSyscallFailed,{syscall.ErrorName}", ErrorCategory.InvalidOperation, target);
            case BpfPS.Core.Links.LinkAttachException attach:
                return LinkCommands.AttachError(attach);
            case BtfValueException value:
                return new ErrorRecord(value, "InvalidMapValue", ErrorCategory.InvalidArgument, target);
            case KeyNotFoundException:
                return new ErrorRecord(e, "MapKeyNotFound", ErrorCategory.ObjectNotFound, target);
            case NotSupportedException:
                return new ErrorRecord(e, "NotSupported", ErrorCategory.InvalidOperation, target);
            case FileNotFoundException or DirectoryNotFoundException:
                return PathNotFound(target?.ToString() ?? e.Message, e);
            case UnauthorizedAccessException:
                return Describe(new ErrorRecord(e, "AccessDenied", ErrorCategory.PermissionDenied, target), e.Message,
                    "Run as root or make the file readable.");
            case IOException:
                return new ErrorRecord(e, "ReadError", ErrorCategory.ReadError, target);
            case NotImplementedException:
                return new ErrorRecord(e, "NotYetImplemented", ErrorCategory.NotImplemented, target);
            case ArgumentException:
                return new ErrorRecord(e, "InvalidArgument", ErrorCategory.InvalidArgument, target);
            default:
                return new ErrorRecord(e, "UnexpectedError", ErrorCategory.NotSpecified, target);
        }
    }

    private const string CapabilityAdvice =
        "Run as root, or grant the process CAP_BPF (plus CAP_PERFMON for tracing programs, CAP_NET_ADMIN for networking programs; CAP_SYS_ADMIN on kernels before 5.8).";

    private static ErrorRecord Describe(ErrorRecord record, string message, string recommendation)
    {
        record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendation };
        return record;
    }
}
