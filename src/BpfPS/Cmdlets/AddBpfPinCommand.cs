using System.Management.Automation;
using BpfPS.Core.Inventory;

namespace BpfPS.Cmdlets;

/// <summary>
/// Add-BpfPin: pins a map or program at a path on bpffs, so it outlives this session (and the collection that loaded
/// it) until Remove-BpfPin. Missing directories on the bpffs are created; /sys/fs/bpf is mounted when needed and root.
/// </summary>
[Cmdlet(VerbsCommon.Add, "BpfPin", DefaultParameterSetName = InputObjectSet, SupportsShouldProcess = true)]
[OutputType(typeof(PinEntry))]
public sealed class AddBpfPinCommand : PSCmdlet
{
    private const string InputObjectSet = "InputObject", MapSet = "Map", ProgramSet = "Program";

    /// <summary>A map or program to pin: from a loaded collection, Get-BpfMap or Get-BpfProgram.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = InputObjectSet, ValueFromPipeline = true)]
    [ValidateNotNull]
    public object? InputObject { get; set; }

    /// <summary>The map to pin: a loaded map, a map from Get-BpfMap, a map id, or the name of a loaded map.</summary>
    [Parameter(Mandatory = true, ParameterSetName = MapSet)]
    [ValidateNotNull]
    public object? Map { get; set; }

    /// <summary>The program to pin: a loaded program, a program from Get-BpfProgram, a program id, or the name of a loaded program.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ProgramSet)]
    [ValidateNotNull]
    public object? Program { get; set; }

    /// <summary>Where to pin: a path on a bpf filesystem, such as /sys/fs/bpf/myapp/counts.</summary>
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    protected override void ProcessRecord()
    {
        string path = PathResolver.ResolveOutput(this, Path!);
        object target = KernelObjectArguments.Unwrap(InputObject ?? Map ?? Program)!;
        try
        {
            using var handle = ParameterSetName switch
            {
                MapSet => KernelObjectArguments.Map(this, Map),
                ProgramSet => KernelObjectArguments.Program(this, Program),
                _ => KernelObjectArguments.Any(this, InputObject),
            };
            if (!ShouldProcess(path, $"Pin {handle.Describe()}")) return;
            BpfPins.Pin(handle.Fd, path);
            WriteVerbose($"Pinned {handle.Describe()} at {path}.");
            WriteObject(new PinEntry(path, handle.Kind, handle.Id, handle.Name));
        }
        catch (Exception e) when (KernelObjectErrors.IsFailure(e))
        {
            WriteError(KernelObjectErrors.From(e, e is ArgumentException && BpfPins.IsOnBpfFs(path) ? target : path));
        }
    }
}
