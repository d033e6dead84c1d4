using System.Management.Automation;
using BpfPS.Core.Events;

namespace BpfPS;

/// <summary>ErrorRecords for the event cmdlets; anything else as the map cmdlets map it.</summary>
internal static class EventErrors
{
    public static ErrorRecord From(Exception e, object? target) => e switch
    {
        BpfEventException { Message: var m } wrong when m.Contains(" map, not ", StringComparison.Ordinal) =>
            Describe(new ErrorRecord(wrong, "WrongMapType", ErrorCategory.InvalidType, target), wrong.Message,
                "Receive-BpfEvent reads ring buffer and perf event array maps; Send-BpfEvent writes user ring buffer maps. Get-BpfMap shows a map's type."),
        BpfEventException events => new ErrorRecord(events, "EventSourceFailed", ErrorCategory.OpenError, target),
        EventRecordTooLongException tooLong => Describe(new ErrorRecord(tooLong, "EventRecordTooLong", ErrorCategory.InvalidData, target),
            tooLong.Message, "Check -Type: the record is longer than that type. Without -Type the raw bytes are returned."),
        _ => KernelObjectErrors.From(e, target),
    };

    public static ErrorRecord TypeNotFound(ArgumentException e, string type) =>
        Describe(new ErrorRecord(e, "EventTypeNotFound", ErrorCategory.ObjectNotFound, type), e.Message,
            "Get-BtfType -Path <object.o> lists the object's types; the record struct must appear in the object's BTF (a global of its type, or use in a map or function signature, puts it there).");

    public static ErrorRecord NoBtf(string map) =>
        Describe(new ErrorRecord(new InvalidOperationException($"No BTF is known for the records of map '{map}': no loaded program that uses it carries BTF."),
            "EventTypeUnavailable", ErrorCategory.ObjectNotFound, map), null, "Pass the map as loaded ($collection.Maps.name) or load a program with BTF that uses it; without -Type the raw bytes are returned.");

    private static ErrorRecord Describe(ErrorRecord record, string? message, string recommendation)
    {
        record.ErrorDetails = new ErrorDetails(message ?? record.Exception.Message) { RecommendedAction = recommendation };
        return record;
    }
}
