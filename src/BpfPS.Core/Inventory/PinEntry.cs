namespace BpfPS.Core.Inventory;

/// <summary>One pin on bpffs: its path and the object it holds.</summary>
/// <param name="Path">The pin's path.</param>
/// <param name="Kind">Program, map or link.</param>
/// <param name="Id">The object's kernel id.</param>
/// <param name="Name">The object's name as the kernel knows it ("" for links and unnamed objects).</param>
public sealed record PinEntry(string Path, BpfObjectKind Kind, uint Id, string Name);
