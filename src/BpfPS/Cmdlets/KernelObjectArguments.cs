using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS;

/// <summary>A descriptor for a map or program named by a cmdlet argument, closed on dispose only when opened here.</summary>
internal sealed class KernelObjectHandle : IDisposable
{
    private readonly bool _owned;

    public KernelObjectHandle(BpfFd fd, BpfObjectKind kind, uint id, string name, bool owned)
    {
        Fd = fd;
        Kind = kind;
        Id = id;
        Name = name;
        _owned = owned;
    }

    public BpfFd Fd { get; }
    public BpfObjectKind Kind { get; }
    public uint Id { get; }
    public string Name { get; }

    /// <summary>"map 'counts' (id 42)", for ShouldProcess and messages.</summary>
    public string Describe() => Kind == BpfObjectKind.Link
        ? $"link {Id} of program '{Name}'"
        : $"{(Kind == BpfObjectKind.Map ? "map" : "program")} '{Name}' (id {Id})";

    public void Dispose()
    {
        if (_owned) Fd.Dispose();
    }
}

/// <summary>
/// Turns what users pass for a map or a program into a descriptor: a loaded map or program ($c.Maps['counts'],
/// $c.Programs.count_packets), one listed by Get-BpfMap / Get-BpfProgram, a kernel id, a pin path (containing '/'),
/// or the name of a map or program in a collection this runspace loaded.
/// </summary>
internal static class KernelObjectArguments
{
    /// <exception cref="ArgumentException">The argument names no map.</exception>
    /// <exception cref="ItemNotFoundException">No loaded map has that name.</exception>
    public static KernelObjectHandle Map(PSCmdlet cmdlet, object? argument)
    {
        switch (Unwrap(argument))
        {
            case LoadedMap loaded:
                RequireOpen(loaded.Fd, $"Map '{loaded.Name}'");
                return new KernelObjectHandle(loaded.Fd, BpfObjectKind.Map, loaded.Id, loaded.Name, owned: false);
            case SystemMap system:
                return OpenMapById(system.Id);
            case var number when TryGetId(number, out uint id):
                return OpenMapById(id);
            case string path when path.Contains('/'):
                return FromPin(cmdlet, path, BpfObjectKind.Map);
            case string name:
                return Map(cmdlet, LoadedByName(name, c => c.Maps.Values, m => m.Name, "map"));
            case var other:
                throw new ArgumentException(
                    $"A map is a loaded map ($collection.Maps['name']), a map from Get-BpfMap, a map id, a pin path or the name of a loaded map; got {Describe(other)}.");
        }
    }

    /// <exception cref="ArgumentException">The argument names no program.</exception>
    /// <exception cref="ItemNotFoundException">No loaded program has that name.</exception>
    public static KernelObjectHandle Program(PSCmdlet cmdlet, object? argument)
    {
        switch (Unwrap(argument))
        {
            case LoadedProgram loaded:
                RequireOpen(loaded.Fd, $"Program '{loaded.Name}'");
                return new KernelObjectHandle(loaded.Fd, BpfObjectKind.Program, loaded.Id, loaded.Name, owned: false);
            case SystemProgram system:
                return OpenProgramById(system.Id);
            case var number when TryGetId(number, out uint id):
                return OpenProgramById(id);
            case string path when path.Contains('/'):
                return FromPin(cmdlet, path, BpfObjectKind.Program);
            case string name:
                return Program(cmdlet, LoadedByName(name, c => c.Programs.Values, p => p.Name, "program"));
            case var other:
                throw new ArgumentException(
                    $"A program is a loaded program ($collection.Programs.name), a program from Get-BpfProgram, a program id, a pin path or the name of a loaded program; got {Describe(other)}.");
        }
    }

    /// <summary>A map or a program, whichever <paramref name="argument"/> is.</summary>
    public static KernelObjectHandle Any(PSCmdlet cmdlet, object? argument) => Unwrap(argument) switch
    {
        LoadedMap or SystemMap => Map(cmdlet, argument),
        LoadedProgram or SystemProgram => Program(cmdlet, argument),
        BpfPS.Core.Links.BpfLink link => link.Fd is { IsClosed: false } fd
            ? new KernelObjectHandle(fd, BpfObjectKind.Link, link.Id, link.ProgramName, owned: false)
            : throw new NotSupportedException($"{link} has no kernel link to pin" + (link.IsDisposed ? " (it was removed)." : ".")),
        BpfPS.Core.Links.SystemLink system => new KernelObjectHandle(BpfSyscall.LinkGetFdById(system.Id), BpfObjectKind.Link, system.Id, system.ProgramName, owned: true),
        var other => throw new ArgumentException(
            $"Expected a map or a program (from a loaded collection, Get-BpfMap or Get-BpfProgram); got {Describe(other)}. Use -Map or -Program for ids, names and paths; links come from New-BpfLink or Get-BpfLink."),
    };

    public static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;

    private static KernelObjectHandle OpenMapById(uint id)
    {
        var fd = BpfInventory.OpenMap(id);
        return new KernelObjectHandle(fd, BpfObjectKind.Map, id, BpfSyscall.GetMapInfo(fd).Name, owned: true);
    }

    private static KernelObjectHandle OpenProgramById(uint id)
    {
        var fd = BpfInventory.OpenProgram(id);
        return new KernelObjectHandle(fd, BpfObjectKind.Program, id, BpfSyscall.GetProgramInfo(fd).Name, owned: true);
    }

    private static KernelObjectHandle FromPin(PSCmdlet cmdlet, string path, BpfObjectKind kind)
    {
        var pinned = BpfPins.Open(cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path), kind);
        return new KernelObjectHandle(pinned.Fd, pinned.Kind, pinned.Id, pinned.Name, owned: true);
    }

    private static T LoadedByName<T>(string name, Func<BpfCollection, IEnumerable<T>> items, Func<T, string> nameOf, string what)
    {
        var matches = RunspaceCollections.List(Runspace.DefaultRunspace)
            .SelectMany(c => items(c).Where(i => nameOf(i) == name).Select(i => (Item: i, Collection: c.Name)))
            .ToList();
        return matches.Count switch
        {
            1 => matches[0].Item,
            0 => throw new ItemNotFoundException($"No collection loaded in this session has a {what} named '{name}'."),
            _ => throw new ArgumentException($"Several loaded collections have a {what} named '{name}' ({string.Join(", ", matches.Select(m => m.Collection))}); pass the {what} itself to choose."),
        };
    }

    private static bool TryGetId(object? value, out uint id)
    {
        id = 0;
        if (value is not (byte or sbyte or short or ushort or int or uint or long or ulong)) return false;
        var number = Convert.ToDecimal(value, System.Globalization.CultureInfo.InvariantCulture);
        if (number is < 1 or > uint.MaxValue) return false;
        id = (uint)number;
        return true;
    }

    private static void RequireOpen(BpfFd fd, string what)
    {
        if (fd.IsClosed) throw new InvalidOperationException($"{what} was removed with its collection.");
    }

    private static string Describe(object? value) => value is null ? "null" : $"{value} ({value.GetType().Name})";
}
