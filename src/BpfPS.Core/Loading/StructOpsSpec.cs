using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Collections;

namespace BpfPS.Core.Loading;

/// <summary>
/// The value of a struct_ops map as the object declares it: a variable of a kernel struct type (tcp_congestion_ops,
/// sched_ext_ops, ...) in SEC(".struct_ops") or SEC(".struct_ops.link"), whose function pointers name the object's
/// SEC("struct_ops/...") programs and whose other members are data (a name, flags). The loader matches its members to
/// the running kernel's struct of the same name by member name.
/// </summary>
public sealed class StructOpsSpec
{
    /// <summary>BPF_F_LINK (uapi/linux/bpf.h): the map is registered through a BPF link rather than by its update.</summary>
    public const uint LinkFlag = 1u << 13;

    /// <summary>The struct's name, looked up in the running kernel's BTF (e.g. "tcp_congestion_ops").</summary>
    public required string TypeName { get; init; }
    /// <summary>The struct in the object's BTF.</summary>
    public required uint TypeId { get; init; }
    /// <summary>The variable's initial bytes in the object's layout of the struct (function pointers are relocations, zero here).</summary>
    public required byte[] Data { get; init; }
    /// <summary>Declared in ".struct_ops.link": created with BPF_F_LINK and registered by BPF_LINK_CREATE.</summary>
    public bool UsesLink { get; init; }
    /// <summary>The function-pointer members set to programs, in member order.</summary>
    public ImmutableArray<StructOpsFunction> Functions
    {
        get => ImmutableCollectionsMarshal.AsImmutableArray(FunctionArray);
        set => FunctionArray = ImmutableCollectionsMarshal.AsArray(value) ?? ValueList<StructOpsFunction>.Empty;
    }
    // What the parser and loader use (Functions wraps it without a copy): ImmutableArray members over StructOpsFunction
    // were JIT-compiled at a session's first load of a struct_ops object.
    internal StructOpsFunction[] FunctionArray { get; set; } = ValueList<StructOpsFunction>.Empty;
}

/// <summary>Member <see cref="MemberIndex"/> (<see cref="MemberName"/>) of the object's struct points at program <see cref="ProgramName"/>.</summary>
public readonly record struct StructOpsFunction(int MemberIndex, string MemberName, string ProgramName);
