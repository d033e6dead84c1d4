using System.Management.Automation;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS.Cmdlets;

/// <summary>
/// Get-BpfMap: the maps in the kernel, system-wide (like bpftool map show): all, by id, by name, from pins, or the ones
/// of a loaded collection; each with its type, sizes, BTF ids and pins.
/// </summary>
[Cmdlet(VerbsCommon.Get, "BpfMap", DefaultParameterSetName = NameSet)]
[OutputType(typeof(SystemMap))]
public sealed class GetBpfMapCommand : GetKernelObjectCommand<SystemMap, BpfMapType>
{
    private protected override BpfObjectKind Kind => BpfObjectKind.Map;
    private protected override SystemMap? GetById(uint id, PinIndex pins) => BpfInventory.GetMap(id, pins);
    private protected override SystemMap? Describe(BpfFd fd, PinIndex pins) => BpfInventory.DescribeMap(fd, pins);
    private protected override IReadOnlyList<SystemMap> All(PinIndex pins) => BpfInventory.Maps(pins);
    private protected override IEnumerable<(string Name, BpfFd Fd)> Loaded(BpfCollection collection) =>
        collection.Maps.Values.Select(m => (m.Name, m.Fd));
    private protected override string NameOf(SystemMap item) => item.Name;
    private protected override BpfMapType TypeOf(SystemMap item) => item.Type;
}
