using System.Management.Automation;
using BpfPS.Core.Kernel;
using BpfPS.Core.Values;

namespace BpfPS;

/// <summary>
/// ErrorRecords for the map, program and pin cmdlets: a bad key or value is InvalidArgument (naming the part at fault),
/// a missing key, map, program or pin is ObjectNotFound, a refused privilege PermissionDenied; the rest as
/// <see cref="ErrorRecords.From"/> maps it.
/// </summary>
internal static class KernelObjectErrors
{
    /// <summary>
    /// Failures of the work, as <see cref="ErrorRecords.IsWorkFailure"/> says, plus ItemNotFoundException: a RuntimeException,
    /// but thrown here for a name that matches no map or program, which is the user's input, not PowerShell's control flow.
    /// </summary>
    public static bool IsFailure(Exception e) => e is ItemNotFoundException || ErrorRecords.IsWorkFailure(e);

    public static ErrorRecord From(Exception e, object? target) => e switch
    {
        BtfValueException value => Describe(
            new ErrorRecord(value, value.Path.StartsWith("key", StringComparison.Ordinal) ? "InvalidMapKey" : "InvalidMapValue",
                ErrorCategory.InvalidArgument, target),
            value.Message, "The map was not changed. Get-BpfMap shows the key and value types; Get-BtfType shows their members."),
        KeyNotFoundException => new ErrorRecord(e, "MapKeyNotFound", ErrorCategory.ObjectNotFound, target),
        ItemNotFoundException => new ErrorRecord(e, "ObjectNotFound", ErrorCategory.ObjectNotFound, target),
        FileNotFoundException => new ErrorRecord(e, "PinNotFound", ErrorCategory.ObjectNotFound, target),
        InvalidDataException => new ErrorRecord(e, "WrongPinKind", ErrorCategory.InvalidType, target),
        NotSupportedException => new ErrorRecord(e, "NotSupportedByMapType", ErrorCategory.InvalidOperation, target),
        BpfSyscallException { ErrorNumber: Errno.ENOENT } syscall => new ErrorRecord(syscall, $"BpfObjectNotFound,{syscall.ErrorName}", ErrorCategory.ObjectNotFound, target),
        BpfSyscallException { ErrorNumber: Errno.EEXIST } syscall => new ErrorRecord(syscall, $"BpfObjectExists,{syscall.ErrorName}", ErrorCategory.ResourceExists, target),
        BpfSyscallException { ErrorNumber: Errno.E2BIG } syscall => Describe(
            new ErrorRecord(syscall, $"MapFull,{syscall.ErrorName}", ErrorCategory.LimitsExceeded, target),
            syscall.Message, "The map is full, or an array index is past max_entries."),
        InvalidOperationException => new ErrorRecord(e, "InvalidOperation", ErrorCategory.InvalidOperation, target),
        _ => ErrorRecords.From(e, target),
    };

    private static ErrorRecord Describe(ErrorRecord record, string message, string recommendation)
    {
        record.ErrorDetails = new ErrorDetails(message) { RecommendedAction = recommendation };
        return record;
    }
}
