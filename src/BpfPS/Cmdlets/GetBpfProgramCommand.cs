using System.Management.Automation;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfProgram: the programs loaded in the kernel, system-wide (like bpftool prog show): all, by id, by name, from
/// pins, or the ones of a loaded collection; each with its type, tag, load time, run statistics, maps and pins.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfProgram", DefaultParameterSetName = NameSet)]
[OutputType(typeof(SystemProgram))]
public sealed class GetBpfProgramCommand : GetKernelObjectCommand<SystemProgram, BpfProgramType>
{
    private protected override BpfObjectKind Kind => BpfObjectKind.Program;
    private protected override SystemProgram? GetById(uint id, PinIndex pins) => BpfInventory.GetProgram(id, pins);
    private protected override SystemProgram? Describe(BpfFd fd, PinIndex pins) => BpfInventory.DescribeProgram(fd, pins);
    private protected override IReadOnlyList<SystemProgram> All(PinIndex pins) => BpfInventory.Programs(pins);
    private protected override IEnumerable<(string Name, BpfFd Fd)> Loaded(BpfCollection collection) =>
        collection.Programs.Values.Select(p => (p.Name, p.Fd));
    private protected override string NameOf(SystemProgram item) => item.Name;
    private protected override BpfProgramType TypeOf(SystemProgram item) => item.Type;
}
