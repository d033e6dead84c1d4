using System.Management.Automation;
using BpfPS.Core.Btf;
using BpfPS.Core.Events;
using BpfPS.Core.Values;

namespace BpfPS.Cmdlets;

/// <summary>
/// Send-BpfEvent: writes records into a user ring buffer map (BPF_MAP_TYPE_USER_RINGBUF) for a program to drain with
/// bpf_user_ringbuf_drain. With -Type each input is encoded through BTF like a Set-BpfMapEntry value (hashtables,
/// PSCustomObjects, numbers, strings; fields left out are zero); without it each input must be a byte array.
/// </summary>
[Cmdlet(VerbsCommunications.Send, "BpfEvent", SupportsShouldProcess = true)]
[OutputType(typeof(void))]
public sealed class SendBpfEventCommand : PSCmdlet, IDisposable
{
    private UserRingBufferWriter? _writer;
    private BtfValueCodec? _codec;

    /// <summary>The user ring buffer map: a loaded map, a map from Get-BpfMap, a map id, a pin path or the name of a loaded map.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNull]
    public object? Map { get; set; }

    /// <summary>The records to send.</summary>
    [Parameter(Mandatory = true, Position = 1, ValueFromPipeline = true)]
    [AllowNull]
    public object?[]? InputObject { get; set; }

    /// <summary>The struct (or union, or typedef) the records are encoded as, by name in the object's BTF; without it, byte arrays.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Type { get; set; }

    protected override void BeginProcessing()
    {
        var target = KernelObjectArguments.Unwrap(Map);
        try
        {
            using var handle = KernelObjectArguments.Map(this, target);
            _writer = new UserRingBufferWriter(handle.Fd, handle.Name);
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            ThrowTerminatingError(EventErrors.From(e, target));
        }
        if (Type is null) return;
        BtfSpec? btf = EventBtfLookup.For(target, _writer!.MapInfo.Id);
        if (btf is null) ThrowTerminatingError(EventErrors.NoBtf(_writer.MapName));
        try
        {
            _codec = new BtfValueCodec(btf!, EventDecoder.FindType(btf!, Type));
        }
        catch (ArgumentException e)
        {
            ThrowTerminatingError(EventErrors.TypeNotFound(e, Type));
        }
    }

    protected override void ProcessRecord()
    {
        foreach (var item in InputObject ?? [])
        {
            byte[] record;
            try
            {
                record = _codec is not null
                    ? _codec.Encode(item, "record", PowerShellValues.ToEncodable)
                    : KernelObjectArguments.Unwrap(item) as byte[]
                      ?? throw new ArgumentException($"Without -Type a record is a byte array; got {(item is null ? "null" : KernelObjectArguments.Unwrap(item)!.GetType().Name)}. Pass -Type to encode objects through BTF.");
            }
            catch (Exception e) when (e is BtfValueException or ArgumentException)
            {
                WriteError(new ErrorRecord(e, "InvalidEventRecord", ErrorCategory.InvalidArgument, item));
                continue;
            }
            if (!ShouldProcess($"user ring buffer '{_writer!.MapName}' (id {_writer.MapInfo.Id})", $"Send a {record.Length}-byte record")) continue;
            try
            {
                if (!_writer.TryWrite(record))
                    WriteError(new ErrorRecord(
                        new InvalidOperationException($"User ring buffer '{_writer.MapName}' is full ({_writer.PendingBytes} of {_writer.DataSize} bytes not yet drained): the record was not sent."),
                        "UserRingBufferFull", ErrorCategory.LimitsExceeded, item));
            }
            catch (ArgumentException e)
            {
                WriteError(new ErrorRecord(e, "InvalidEventRecord", ErrorCategory.InvalidArgument, item));
            }
        }
    }

    protected override void EndProcessing() => Dispose();

    public void Dispose()
    {
        _writer?.Dispose();
        _writer = null;
    }
}
