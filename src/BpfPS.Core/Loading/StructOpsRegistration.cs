using System.Collections.Concurrent;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>How a struct_ops map was registered with its kernel subsystem.</summary>
public enum StructOpsRegistrationKind
{
    /// <summary>By BPF_MAP_UPDATE_ELEM of key 0 (".struct_ops"): it stays registered, even after this process exits, until key 0 is deleted.</summary>
    MapUpdate,
    /// <summary>By a BPF link over a BPF_F_LINK map (".struct_ops.link"): it unregisters when the link closes.</summary>
    Link,
}

/// <summary>
/// A struct_ops map registered with its kernel subsystem (a TCP congestion control, a scheduler...). Disposing it
/// unregisters: deletes key 0 of a map-registered struct_ops, or closes the link. <see cref="Collection.Dispose"/> does
/// this first; as a last resort, map-registered struct_ops still registered when the process exits normally are
/// unregistered then, since the kernel would otherwise keep them after the process has gone.
/// </summary>
public sealed class StructOpsRegistration : IDisposable
{
    private static readonly ConcurrentDictionary<StructOpsRegistration, byte> s_mapRegistered = new();
    private static int s_exitHookInstalled;

    private readonly IDisposable? _link;
    private int _disposed;

    internal StructOpsRegistration(LoadedMap map, string typeName, string? opsName, StructOpsRegistrationKind kind, IDisposable? link, uint linkId)
    {
        Map = map;
        TypeName = typeName;
        OpsName = opsName;
        Kind = kind;
        _link = link;
        LinkId = linkId;
        if (kind == StructOpsRegistrationKind.MapUpdate)
        {
            s_mapRegistered[this] = 0;
            if (Interlocked.Exchange(ref s_exitHookInstalled, 1) == 0)
                AppDomain.CurrentDomain.ProcessExit += static (_, _) => UnregisterAllAtExit();
        }
    }

    /// <summary>The struct_ops map (its name in the object is <see cref="MapName"/>).</summary>
    public LoadedMap Map { get; }
    public string MapName => Map.Name;
    /// <summary>The map's kernel id (bpftool struct_ops show id N).</summary>
    public uint MapId => Map.Id;
    /// <summary>The kernel struct registered, e.g. "tcp_congestion_ops".</summary>
    public string TypeName { get; }
    /// <summary>The name the subsystem knows it by (the struct's "name" member, e.g. a congestion control name), or null.</summary>
    public string? OpsName { get; }
    public StructOpsRegistrationKind Kind { get; }
    /// <summary>The kernel link id for <see cref="StructOpsRegistrationKind.Link"/>, else 0.</summary>
    public uint LinkId { get; }
    /// <summary>True until disposed.</summary>
    public bool IsRegistered => Volatile.Read(ref _disposed) == 0;

    /// <summary>Unregisters. Idempotent and thread-safe; a kernel refusal to unregister is ignored (the map's fd closes next).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        s_mapRegistered.TryRemove(this, out _);
        if (_link is not null)
        {
            _link.Dispose();
            return;
        }
        Unregister();
    }

    private void Unregister()
    {
        try
        {
            BpfSyscall.MapDelete(Map.Fd, stackalloc byte[4]);
        }
        catch (BpfSyscallException) { }
        catch (ObjectDisposedException) { } // the map's descriptor was closed on its own: nothing left to ask the kernel
    }

    private static void UnregisterAllAtExit()
    {
        foreach (var registration in s_mapRegistered.Keys) registration.Dispose();
    }

    public override string ToString() =>
        $"{TypeName} '{OpsName ?? MapName}' ({(Kind == StructOpsRegistrationKind.Link ? $"link {LinkId}" : "map update")}, map {MapId}){(IsRegistered ? "" : " unregistered")}";
}
