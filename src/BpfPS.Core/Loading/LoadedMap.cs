using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>A map created (or reused from a pin) by <see cref="Collection.Load"/>. Owns its descriptor.</summary>
public sealed class LoadedMap : IDisposable
{
    internal LoadedMap(MapSpec spec, string kernelName, BpfFd fd, BpfMapInfo info, string? pinnedPath, bool reusedPin,
        BtfSpec? btf, uint keyTypeId, uint valueTypeId)
    {
        Spec = spec;
        KernelName = kernelName;
        Fd = fd;
        Id = info.Id;
        Type = info.Type;
        KeySize = info.KeySize;
        ValueSize = info.ValueSize;
        MaxEntries = info.MaxEntries;
        Flags = info.Flags;
        PinnedPath = pinnedPath;
        IsReusedPin = reusedPin;
        Btf = btf;
        KeyTypeId = keyTypeId;
        ValueTypeId = valueTypeId;
    }

    /// <summary>The name in the object (the key in <see cref="Collection.Maps"/>).</summary>
    public string Name => Spec.Name;
    /// <summary>The name the kernel knows (15 characters at most; "obj.rodata" style for global data).</summary>
    public string KernelName { get; }
    public BpfMapType Type { get; }
    public uint KeySize { get; }
    public uint ValueSize { get; }
    public uint MaxEntries { get; }
    public uint Flags { get; }
    public BpfFd Fd { get; }
    /// <summary>The kernel's id for the map (bpftool map show id N).</summary>
    public uint Id { get; }
    /// <summary>Where the map is pinned (LIBBPF_PIN_BY_NAME), else null.</summary>
    public string? PinnedPath { get; }
    /// <summary>True when an existing compatible pin was reused instead of creating a map.</summary>
    public bool IsReusedPin { get; }
    public MapSpec Spec { get; }
    /// <summary>The object's BTF when the map was created with BTF key/value types, else null.</summary>
    public BtfSpec? Btf { get; }
    public uint KeyTypeId { get; }
    public uint ValueTypeId { get; }

    /// <summary>True for maps whose values hold one slot per possible CPU.</summary>
    public bool IsPerCpu => Type is BpfMapType.PercpuHash or BpfMapType.PercpuArray or BpfMapType.LruPercpuHash or BpfMapType.PercpuCgroupStorage;

    /// <summary>Bytes a lookup fills: the value size, or for per-CPU maps the value rounded to 8 bytes times possible CPUs.</summary>
    public int ValueBufferSize => IsPerCpu ? (int)((ValueSize + 7) & ~7u) * PossibleCpus.Count : (int)ValueSize;

    /// <summary>Reads the value for <paramref name="key"/>; false when absent.</summary>
    public bool TryLookup(ReadOnlySpan<byte> key, Span<byte> value)
    {
        CheckKey(key);
        if (value.Length != ValueBufferSize) throw new ArgumentException($"map '{Name}': value buffer must be {ValueBufferSize} bytes, not {value.Length}", nameof(value));
        return BpfSyscall.MapLookup(Fd, key, value);
    }

    /// <summary>The value for <paramref name="key"/>, or null when absent.</summary>
    public byte[]? Lookup(ReadOnlySpan<byte> key)
    {
        var value = new byte[ValueBufferSize];
        return TryLookup(key, value) ? value : null;
    }

    /// <summary>Writes <paramref name="value"/> at <paramref name="key"/> (flags: <see cref="BpfSyscall.UpdateAny"/> etc.).</summary>
    public void Update(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ulong flags = BpfSyscall.UpdateAny)
    {
        CheckKey(key);
        if (value.Length != ValueBufferSize) throw new ArgumentException($"map '{Name}': value must be {ValueBufferSize} bytes, not {value.Length}", nameof(value));
        BpfSyscall.MapUpdate(Fd, key, value, flags);
    }

    /// <summary>Deletes <paramref name="key"/>; false when absent.</summary>
    public bool Delete(ReadOnlySpan<byte> key)
    {
        CheckKey(key);
        return BpfSyscall.MapDelete(Fd, key);
    }

    /// <summary>Every key, in the kernel's iteration order.</summary>
    public IEnumerable<byte[]> Keys()
    {
        var key = Array.Empty<byte>();
        while (true)
        {
            var next = new byte[KeySize];
            if (!BpfSyscall.MapGetNextKey(Fd, key, next)) yield break;
            yield return next;
            key = next;
        }
    }

    private void CheckKey(ReadOnlySpan<byte> key)
    {
        if (key.Length != KeySize) throw new ArgumentException($"map '{Name}': key must be {KeySize} bytes, not {key.Length}", nameof(key));
    }

    /// <summary>Closes the descriptor (the map lives on while pinned or used by a program). Idempotent.</summary>
    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"{Type} map '{Name}' (id {Id})";
}
