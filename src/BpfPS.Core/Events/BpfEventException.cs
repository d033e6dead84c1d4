namespace BpfPS.Core.Events;

/// <summary>An event reader or writer cannot work with its map or source: wrong map type, a refused mapping or perf event.</summary>
public sealed class BpfEventException : Exception
{
    public BpfEventException(string message, int errorNumber = 0, Exception? inner = null) : base(message, inner) => ErrorNumber = errorNumber;

    /// <summary>The errno behind the failure, 0 when there is none.</summary>
    public int ErrorNumber { get; }
}

/// <summary>A record holds more bytes than the type it is decoded as: the type is likely not the record's.</summary>
public sealed class EventRecordTooLongException : Exception
{
    public EventRecordTooLongException(string typeName, int typeSize, int recordLength)
        : base($"a {recordLength}-byte record is longer than {typeName} ({typeSize} bytes): the record is not of that type")
    {
        TypeName = typeName;
        TypeSize = typeSize;
        RecordLength = recordLength;
    }

    public string TypeName { get; }
    public int TypeSize { get; }
    public int RecordLength { get; }
}
