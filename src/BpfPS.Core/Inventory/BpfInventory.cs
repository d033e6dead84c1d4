using System.Collections.Immutable;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Inventory;

/// <summary>
/// Every program and map in the kernel, system-wide (not only this process's): walks the id space with
/// BPF_*_GET_NEXT_ID, opens each by id and asks for its info. Needs root (or CAP_SYS_ADMIN) like bpftool.
/// </summary>
public static class BpfInventory
{
    /// <summary>Every loaded program, in id order. Programs unloaded while listing are left out.</summary>
    /// <param name="pins">Where to look up pinned paths (<see cref="PinIndex.Build"/>), or null to leave them empty.</param>
    public static IReadOnlyList<SystemProgram> Programs(PinIndex? pins = null)
    {
        var boot = BootClock.BootTimeUtc();
        var list = new List<SystemProgram>();
        foreach (uint id in BpfSyscall.ProgramIds())
            if (TryDescribeProgram(id, boot, pins) is { } program)
                list.Add(program);
        return list;
    }

    /// <summary>Every map, in id order. Maps freed while listing are left out.</summary>
    public static IReadOnlyList<SystemMap> Maps(PinIndex? pins = null)
    {
        var list = new List<SystemMap>();
        foreach (uint id in BpfSyscall.MapIds())
            if (TryDescribeMap(id, pins) is { } map)
                list.Add(map);
        return list;
    }

    /// <summary>The program with kernel id <paramref name="id"/>, or null when there is none.</summary>
    public static SystemProgram? GetProgram(uint id, PinIndex? pins = null) => TryDescribeProgram(id, BootClock.BootTimeUtc(), pins);

    /// <summary>The map with kernel id <paramref name="id"/>, or null when there is none.</summary>
    public static SystemMap? GetMap(uint id, PinIndex? pins = null) => TryDescribeMap(id, pins);

    /// <summary>Describes the program behind an open descriptor.</summary>
    public static SystemProgram DescribeProgram(BpfFd program, PinIndex? pins = null)
    {
        var info = BpfSyscall.GetProgramInfo(program);
        return SystemProgram.From(info, BootClock.BootTimeUtc(), PinsOf(pins, BpfObjectKind.Program, info.Id));
    }

    /// <summary>Describes the map behind an open descriptor.</summary>
    public static SystemMap DescribeMap(BpfFd map, PinIndex? pins = null)
    {
        var info = BpfSyscall.GetMapInfo(map);
        return SystemMap.From(info, PinsOf(pins, BpfObjectKind.Map, info.Id));
    }

    /// <summary>Opens the program with kernel id <paramref name="id"/> (the caller owns the descriptor).</summary>
    /// <exception cref="BpfSyscallException">ENOENT: no such program; EPERM: not privileged.</exception>
    public static BpfFd OpenProgram(uint id) => BpfSyscall.ProgramGetFdById(id);

    /// <summary>Opens the map with kernel id <paramref name="id"/> (the caller owns the descriptor).</summary>
    /// <exception cref="BpfSyscallException">ENOENT: no such map; EPERM: not privileged.</exception>
    public static BpfFd OpenMap(uint id) => BpfSyscall.MapGetFdById(id);

    private static SystemProgram? TryDescribeProgram(uint id, DateTime bootTimeUtc, PinIndex? pins)
    {
        using var fd = TryOpen(() => BpfSyscall.ProgramGetFdById(id));
        if (fd is null)
            return null;
        var info = BpfSyscall.GetProgramInfo(fd);
        return SystemProgram.From(info, bootTimeUtc, PinsOf(pins, BpfObjectKind.Program, id));
    }

    private static SystemMap? TryDescribeMap(uint id, PinIndex? pins)
    {
        using var fd = TryOpen(() => BpfSyscall.MapGetFdById(id));
        if (fd is null)
            return null;
        return SystemMap.From(BpfSyscall.GetMapInfo(fd), PinsOf(pins, BpfObjectKind.Map, id));
    }

    /// <summary>Opens by id; null when the object is gone (ENOENT), so a listing survives objects freed under it.</summary>
    private static BpfFd? TryOpen(Func<BpfFd> open)
    {
        try
        {
            return open();
        }
        catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT)
        {
            return null;
        }
    }

    private static ImmutableArray<string> PinsOf(PinIndex? pins, BpfObjectKind kind, uint id) =>
        pins is null ? ImmutableArray<string>.Empty : pins.PathsOf(kind, id);
}
