namespace BpfPS.Core.Btf;

// CONTRACT (written by the lead; the BTF helper implements the bodies and may add members, but keeps these signatures).
/// <summary>
/// An immutable, lazily decoded BTF blob (the kernel's vmlinux, a module's split BTF, or an object's .BTF).
/// The raw bytes are kept; an offset per type id and a name index are built on first need; a type is decoded on first
/// request and memoised. Safe for concurrent use from many threads. Never mutated after construction.
/// </summary>
public sealed partial class BtfSpec
{
    /// <summary>Parses a raw BTF blob (header, types, strings). For split BTF pass the base spec.</summary>
    /// <exception cref="BpfFormatException">The blob is malformed (the message names <paramref name="source"/>).</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> raw, string source, BtfSpec? baseSpec = null) => throw new NotImplementedException();

    /// <summary>Reads a raw BTF file (e.g. /sys/kernel/btf/vmlinux or a BTFHub .btf).</summary>
    public static BtfSpec LoadFile(string path, BtfSpec? baseSpec = null) => throw new NotImplementedException();

    /// <summary>Where the bytes came from (a path, or "name.o:.BTF").</summary>
    public string Source => throw new NotImplementedException();
    /// <summary>The base spec for split BTF, else null.</summary>
    public BtfSpec? Base => throw new NotImplementedException();
    /// <summary>The raw blob as read.</summary>
    public ReadOnlyMemory<byte> RawBytes => throw new NotImplementedException();
    /// <summary>Lowest type id this spec owns (1, or base's next id for split BTF).</summary>
    public uint FirstTypeId => throw new NotImplementedException();
    /// <summary>Number of types this spec owns (not counting void or the base's).</summary>
    public int TypeCount => throw new NotImplementedException();
    /// <summary>One past the highest valid type id (including the base's).</summary>
    public uint NextTypeId => throw new NotImplementedException();
    /// <summary>How many types have been decoded so far (for tests proving laziness and sharing).</summary>
    public int DecodedTypeCount => throw new NotImplementedException();

    /// <summary>The type with this id, decoded once and shared; id 0 is void; base ids are answered by the base.</summary>
    /// <exception cref="BpfFormatException">The id is past the end, or the type's bytes are malformed.</exception>
    public BtfType GetType(uint id) => throw new NotImplementedException();
    public bool TryGetType(uint id, out BtfType? type) => throw new NotImplementedException();
    /// <summary>The kind of a type without decoding it.</summary>
    public BtfKind GetKind(uint id) => throw new NotImplementedException();
    /// <summary>The name of a type without decoding it.</summary>
    public string GetName(uint id) => throw new NotImplementedException();

    /// <summary>Ids of types named exactly <paramref name="name"/> (this spec and its base). No allocation on a warm index beyond the result.</summary>
    public IReadOnlyList<uint> FindByName(string name) => throw new NotImplementedException();
    /// <summary>
    /// Ids whose CO-RE essential name (the name without a "___flavor" suffix) equals <paramref name="essentialName"/>,
    /// in this spec and its base. Read-only: nothing is copied.
    /// </summary>
    public IReadOnlyList<uint> FindByEssentialName(ReadOnlySpan<char> essentialName) => throw new NotImplementedException();

    /// <summary>Every type this spec owns, in id order (decodes lazily as enumerated).</summary>
    public IEnumerable<BtfType> Types => throw new NotImplementedException();

    /// <summary>A string from the string section (offsets past the base's strings belong to this split spec).</summary>
    public string GetString(uint offset) => throw new NotImplementedException();

    /// <summary>Size in bytes of a type, following typedefs/qualifiers and multiplying arrays; bounded depth.</summary>
    public uint SizeOf(uint id) => throw new NotImplementedException();
    /// <summary>Skips typedef, volatile, const, restrict and type_tag; bounded depth (cycles give BpfFormatException).</summary>
    public uint SkipModsAndTypedefs(uint id) => throw new NotImplementedException();
}
