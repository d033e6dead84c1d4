namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>One header or record field of a seed that the mutator may overwrite with a boundary value.</summary>
/// <param name="Offset">Byte offset in the blob.</param>
/// <param name="Width">1, 2, 4 or 8 bytes, little-endian.</param>
/// <param name="Role">What the field is ("elf.sh_size", "btf.vlen"...), for reading a saved finding.</param>
public readonly record struct MutableField(int Offset, int Width, string Role);

/// <summary>
/// Where the interesting fields of one seed blob are (header fields, section headers, symbols, relocations, BTF type
/// infos, ids and string offsets), plus values that mean something for this blob (its length, counts, string table
/// size) and so make good replacements: off-by-one errors live next to them.
/// </summary>
public sealed class InputLayout
{
    private readonly List<MutableField> _fields = new();
    private readonly HashSet<ulong> _hints = new();

    public static readonly InputLayout Empty = new();

    public IReadOnlyList<MutableField> Fields => _fields;
    public IReadOnlyCollection<ulong> Hints => _hints;

    /// <summary>Records a field if it lies wholly inside a blob of <paramref name="length"/> bytes (seeds can be odd).</summary>
    public void Add(int offset, int width, string role, int length)
    {
        if (offset >= 0 && width > 0 && (long)offset + width <= length)
            _fields.Add(new MutableField(offset, width, role));
    }

    /// <summary>A meaningful value, and its neighbours.</summary>
    public void Hint(ulong value)
    {
        _hints.Add(value);
        _hints.Add(value + 1);
        if (value > 0) _hints.Add(value - 1);
    }

    /// <summary>Adds another layout's fields shifted by <paramref name="offset"/> (a BTF blob inside an ELF section).</summary>
    public void Embed(InputLayout inner, int offset)
    {
        foreach (var f in inner._fields)
            _fields.Add(f with { Offset = f.Offset + offset });
        foreach (var h in inner._hints)
            _hints.Add(h);
    }
}
