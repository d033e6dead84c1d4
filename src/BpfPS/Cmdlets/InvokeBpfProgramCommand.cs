using System.Management.Automation;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Invoke-BpfProgram: runs a loaded program once (or -Repeat times) on a test packet or context with
/// BPF_PROG_TEST_RUN, without attaching it anywhere. Maps the program writes change as they would for real traffic.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "BpfProgram", DefaultParameterSetName = ProgramSet)]
[OutputType(typeof(BpfProgramRunResult))]
public sealed class InvokeBpfProgramCommand : PSCmdlet
{
    private const string ProgramSet = "Program", CollectionSet = "Collection";

    /// <summary>Minimum Ethernet frame: the default packet for packet-processing programs.</summary>
    private const int DefaultPacketSize = 64;

    /// <summary>Programs to run, e.g. $collection.Programs.count_packets.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ProgramSet, ValueFromPipeline = true)]
    public LoadedProgram[]? Program { get; set; }

    /// <summary>A loaded collection holding the program named by -Name.</summary>
    [Parameter(Mandatory = true, ParameterSetName = CollectionSet)]
    public BpfCollection? Collection { get; set; }

    /// <summary>The program's function name in -Collection.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = CollectionSet)]
    [ArgumentCompleter(typeof(LoadedProgramNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Name { get; set; }

    /// <summary>The packet to run on (packet programs). Default: 64 zero bytes, a minimal Ethernet frame.</summary>
    [Parameter]
    public byte[]? Data { get; set; }

    /// <summary>The context to pass (e.g. struct __sk_buff, or a raw_tp/syscall program's arguments).</summary>
    [Parameter]
    public byte[]? Context { get; set; }

    /// <summary>Run this many times; the duration is the average.</summary>
    [Parameter]
    [ValidateRange(1, int.MaxValue)]
    public uint Repeat { get; set; } = 1;

    protected override void ProcessRecord()
    {
        if (ParameterSetName == CollectionSet)
        {
            if (Collection!.Programs.TryGetValue(Name!, out var named)) Run(named);
            else WriteError(new ErrorRecord(
                new ItemNotFoundException($"{Collection.Name} has no program '{Name}' (it has: {string.Join(", ", Collection.Programs.Keys)})."),
                "ProgramNotFound", ErrorCategory.ObjectNotFound, Name));
            return;
        }
        foreach (var program in Program!) Run(program);
    }

    private void Run(LoadedProgram program)
    {
        if (program.Fd.IsClosed)
        {
            WriteError(new ErrorRecord(new InvalidOperationException($"Program '{program.Name}' was removed with its collection."),
                "ProgramRemoved", ErrorCategory.InvalidOperation, program));
            return;
        }
        var data = Data ?? (IsPacketProgram(program.Type) ? new byte[DefaultPacketSize] : []);
        // Room for programs that grow the packet (XDP headroom, bpf_xdp_adjust_tail).
        var dataOut = data.Length == 0 ? [] : new byte[data.Length + 4096];
        var contextOut = Context is null ? [] : new byte[Context.Length];
        try
        {
            var result = program.TestRun(data, dataOut, Context ?? [], contextOut, Repeat);
            WriteObject(new BpfProgramRunResult
            {
                Program = program.Name,
                ProgramId = program.Id,
                ReturnValue = result.ReturnValue,
                Action = ActionName(program.Type, result.ReturnValue),
                DurationNanoseconds = result.DurationNanoseconds,
                Repeat = Repeat,
                DataOut = dataOut.AsSpan(0, Math.Min(result.DataOutSize, dataOut.Length)).ToArray(),
                ContextOut = contextOut.AsSpan(0, Math.Min(result.ContextOutSize, contextOut.Length)).ToArray(),
            });
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, program.Name));
        }
    }

    private static bool IsPacketProgram(BpfProgramType type) => type is BpfProgramType.SocketFilter or BpfProgramType.SchedCls
        or BpfProgramType.SchedAct or BpfProgramType.Xdp or BpfProgramType.CgroupSkb or BpfProgramType.LwtIn
        or BpfProgramType.LwtOut or BpfProgramType.LwtXmit or BpfProgramType.LwtSeg6local or BpfProgramType.FlowDissector;

    /// <summary>The uapi name of a return value, for program types whose return value is an action.</summary>
    private static string? ActionName(BpfProgramType type, uint value) => type switch
    {
        BpfProgramType.Xdp => value switch
        {
            0 => "XDP_ABORTED", 1 => "XDP_DROP", 2 => "XDP_PASS", 3 => "XDP_TX", 4 => "XDP_REDIRECT", _ => null,
        },
        BpfProgramType.SchedCls or BpfProgramType.SchedAct => (int)value switch
        {
            -1 => "TC_ACT_UNSPEC", 0 => "TC_ACT_OK", 1 => "TC_ACT_RECLASSIFY", 2 => "TC_ACT_SHOT", 3 => "TC_ACT_PIPE",
            4 => "TC_ACT_STOLEN", 5 => "TC_ACT_QUEUED", 6 => "TC_ACT_REPEAT", 7 => "TC_ACT_REDIRECT", _ => null,
        },
        _ => null,
    };
}
