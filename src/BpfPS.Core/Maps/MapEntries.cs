using System.Collections;
using BpfPS.Core.Btf;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Values;

namespace BpfPS.Core.Maps;

/// <summary>
/// Reads and writes the entries of one map as .NET values: keys and values are encoded with the map's BTF types when it
/// has them (<see cref="BtfValueCodec"/>), else as bytes. Every key and value is encoded, and its size checked, before
/// any syscall, so a bad key or value leaves the map unchanged.
/// </summary>
/// <remarks>
/// Per-CPU maps: a value reads as an object?[] with one value per possible CPU (/sys/devices/system/cpu/possible); a
/// write takes either such a list or one value for every CPU. Does not own the descriptor.
/// </remarks>
public sealed partial class MapEntries
{
    /// <summary><see cref="MapIterationMode.Auto"/> reads maps with at least this many entries in batches.</summary>
    public const uint BatchThreshold = 64;

    private readonly BpfFd _fd;

    /// <param name="map">The map's descriptor (not owned: the caller closes it).</param>
    /// <param name="info">The map's shape, as <see cref="BpfSyscall.GetMapInfo"/> reports it.</param>
    /// <param name="btf">BTF holding the key and value types, or null for raw bytes.</param>
    /// <param name="keyTypeId">The key's type in <paramref name="btf"/> (0: raw bytes).</param>
    /// <param name="valueTypeId">The value's type in <paramref name="btf"/> (0: raw bytes).</param>
    /// <param name="name">The name for messages (defaults to the kernel's name for the map).</param>
    public MapEntries(BpfFd map, BpfMapInfo info, BtfSpec? btf = null, uint keyTypeId = 0, uint valueTypeId = 0, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(map);
        ArgumentNullException.ThrowIfNull(info);
        _fd = map;
        Info = info;
        Name = string.IsNullOrEmpty(name) ? (info.Name.Length > 0 ? info.Name : $"id {info.Id}") : name;
        KeyCodec = keyTypeId == 0 && MapKinds.IsIndexed(info.Type) && info.KeySize == 4
            ? ValueCodec.ArrayIndex
            : ValueCodec.Create(btf, keyTypeId, (int)info.KeySize);
        ValueCodec = ValueCodec.Create(btf, valueTypeId, (int)info.ValueSize);
        IsPerCpu = MapKinds.IsPerCpu(info.Type);
        CpuCount = IsPerCpu ? PossibleCpus.Count : 1;
        ValueStride = IsPerCpu ? checked((int)((info.ValueSize + 7) & ~7u)) : (int)info.ValueSize;
        ValueBufferSize = checked(ValueStride * CpuCount);
    }

    /// <summary>
    /// Entries of the map behind <paramref name="map"/>, with its key/value types read from the kernel: the BTF object
    /// the map was created with is fetched by id unless <paramref name="btf"/> is given. A map whose BTF cannot be read
    /// falls back to raw bytes rather than failing.
    /// </summary>
    public static MapEntries Open(BpfFd map, BtfSpec? btf = null, string? name = null)
    {
        var info = BpfSyscall.GetMapInfo(map);
        if (btf is null && info.BtfId != 0 && (info.BtfKeyTypeId != 0 || info.BtfValueTypeId != 0))
        {
            try
            {
                btf = BtfObjects.Load(info.BtfId);
            }
            catch (Exception e) when (e is BpfFormatException or BpfSyscallException or IOException)
            {
                btf = null;   // the bytes are still readable; only their interpretation is lost
            }
        }
        return new MapEntries(map, info, btf, btf is null ? 0 : info.BtfKeyTypeId, btf is null ? 0 : info.BtfValueTypeId, name);
    }

    /// <summary>Entries of a map loaded from an object (its BTF and type ids come from the object).</summary>
    public static MapEntries For(LoadedMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        var info = new BpfMapInfo
        {
            Type = map.Type, Id = map.Id, KeySize = map.KeySize, ValueSize = map.ValueSize, MaxEntries = map.MaxEntries,
            Flags = map.Flags, Name = map.KernelName,
        };
        return new MapEntries(map.Fd, info, map.Btf, map.KeyTypeId, map.ValueTypeId, map.Name);
    }

    /// <summary>The map's name for messages.</summary>
    public string Name { get; }
    public BpfMapInfo Info { get; }
    public BpfMapType Type => Info.Type;
    public ValueCodec KeyCodec { get; }
    /// <summary>The codec of one value (one CPU's slot for per-CPU maps).</summary>
    public ValueCodec ValueCodec { get; }
    public bool IsPerCpu { get; }
    /// <summary>Slots per value: the number of possible CPUs for per-CPU maps, else 1.</summary>
    public int CpuCount { get; }
    /// <summary>Bytes between per-CPU slots (the value size rounded up to 8), or the value size.</summary>
    public int ValueStride { get; }
    /// <summary>Bytes a lookup fills: <see cref="ValueStride"/> × <see cref="CpuCount"/>.</summary>
    public int ValueBufferSize { get; }
    /// <summary>Unwraps caller objects (PowerShell's PSObject) before encoding; see <see cref="ValueAdapter"/>.</summary>
    public ValueAdapter? Adapter { get; set; }

    // ---- encoding (no syscalls) -------------------------------------------------------------------------------------

    /// <summary>The key's bytes.</summary>
    /// <exception cref="BtfValueException">No key given, or it does not fit the key type.</exception>
    /// <exception cref="NotSupportedException">The map has no keys (queue, stack, ring buffer, bloom filter).</exception>
    public byte[] EncodeKey(object? key)
    {
        RequireKeys();
        if (Adapt(key) is null)
            throw new BtfValueException("key", $"a key is required for map '{Name}' ({KeyCodec.TypeName})");
        return KeyCodec.Encode(key, "key", Adapter);
    }

    /// <summary>The bytes of a value (for per-CPU maps, every CPU's slot; see <see cref="MapEntries"/>).</summary>
    /// <exception cref="BtfValueException">The value does not fit the value type.</exception>
    public byte[] EncodeValue(object? value)
    {
        if (!IsPerCpu)
            return ValueCodec.Encode(value, "value", Adapter);
        var buffer = new byte[ValueBufferSize];
        var perCpu = AsPerCpuValues(value);
        if (perCpu is null)
        {
            ValueCodec.Encode(value, buffer.AsSpan(0, ValueCodec.Size), "value", Adapter);
            for (int cpu = 1; cpu < CpuCount; cpu++)
                buffer.AsSpan(0, ValueStride).CopyTo(buffer.AsSpan(cpu * ValueStride));
        }
        else
        {
            for (int cpu = 0; cpu < CpuCount; cpu++)
                ValueCodec.Encode(perCpu[cpu], buffer.AsSpan(cpu * ValueStride, ValueCodec.Size), $"value[cpu {cpu}]", Adapter);
        }
        return buffer;
    }

    /// <summary>Decodes a key's bytes.</summary>
    public object? DecodeKey(ReadOnlySpan<byte> key) => KeyCodec.Decode(key);

    /// <summary>Decodes a lookup's bytes: one value, or for per-CPU maps an object?[] with a value per CPU.</summary>
    public object? DecodeValue(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length != ValueBufferSize)
            throw new ArgumentException($"map '{Name}': a value buffer is {ValueBufferSize} bytes, got {buffer.Length}", nameof(buffer));
        if (!IsPerCpu)
            return ValueCodec.Decode(buffer);
        var values = new object?[CpuCount];
        for (int cpu = 0; cpu < CpuCount; cpu++)
            values[cpu] = ValueCodec.Decode(buffer.Slice(cpu * ValueStride, ValueCodec.Size));
        return values;
    }

    /// <summary>
    /// A per-CPU write given as a list with one value per CPU, or null when <paramref name="value"/> is one value for
    /// all CPUs. A list whose length is the CPU count is per-CPU unless the value type itself takes lists and the
    /// elements look like single numbers (then it is an array value that happens to have that length).
    /// </summary>
    private IReadOnlyList<object?>? AsPerCpuValues(object? value)
    {
        var adapted = Adapt(value);
        if (adapted is null || !ValueConversion.IsSequence(adapted))
            return null;
        var items = new List<object?>(CpuCount);
        foreach (var item in (IEnumerable)adapted)
        {
            if (items.Count > CpuCount) break;   // enough to know it is not one per CPU
            items.Add(item);
        }
        if (!ValueTakesLists())
        {
            if (items.Count != CpuCount)
                throw new BtfValueException("value",
                    $"per-CPU map '{Name}' takes one value for each of its {CpuCount} possible CPUs, or a single value for all; got a list of {(items.Count > CpuCount ? $"more than {CpuCount}" : items.Count)}");
            return items;
        }
        bool wholeValues = items.TrueForAll(item => Adapt(item) is { } element
            && (element is byte[] or string or IDictionary || ValueConversion.IsSequence(element)));
        return items.Count == CpuCount && wholeValues ? items : null;
    }

    private object? Adapt(object? value) => value is not null && Adapter is not null ? Adapter(value) : value;

    private bool ValueTakesLists() => ValueCodec switch
    {
        RawValueCodec => true,
        BtfValueCodec btf => btf.Spec.GetKind(btf.Spec.SkipModsAndTypedefs(btf.TypeId)) == BtfKind.Array,
        _ => false,
    };

    private void RequireKeys()
    {
        if (!MapKinds.HasKeys(Type))
            throw new NotSupportedException($"map '{Name}' is a {Type} map: it has no keys to look up, write or delete");
    }

    public override string ToString() => $"{Type} map '{Name}' ({KeyCodec.TypeName} -> {ValueCodec.TypeName}{(IsPerCpu ? $" x {CpuCount} CPUs" : "")})";
}
