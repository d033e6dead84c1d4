namespace BpfPS.Core.Inventory;

/// <summary>What a BPF descriptor or pin refers to.</summary>
public enum BpfObjectKind
{
    Unknown,
    Program,
    Map,
    Link,
    Btf,
}
