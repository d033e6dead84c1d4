using System.Collections.Immutable;
using System.Runtime.InteropServices;
using BpfPS.Core.Collections;

namespace BpfPS.Core.Btf;

/// <summary>func_info record: the instruction (index, in instructions, not bytes) where a function starts, and its BTF func id.</summary>
public readonly record struct BtfFuncInfo(int InstructionOffset, uint TypeId);

/// <summary>line_info record. Offsets are instruction indexes (not bytes); names are resolved strings.</summary>
public readonly record struct BtfLineInfo(int InstructionOffset, uint FileNameOffset, uint LineOffset, uint LineCol)
{
    public uint Line => LineCol >> 10;
    public uint Column => LineCol & 0x3ff;
}

/// <summary>CO-RE relocation kinds (enum bpf_core_relo_kind).</summary>
public enum CoreRelocationKind : uint
{
    FieldByteOffset = 0, FieldByteSize = 1, FieldExists = 2, FieldSigned = 3, FieldLShiftU64 = 4, FieldRShiftU64 = 5,
    TypeIdLocal = 6, TypeIdTarget = 7, TypeExists = 8, TypeSize = 9, EnumValueExists = 10, EnumValue = 11, TypeMatches = 12,
}

/// <summary>One bpf_core_relo record: instruction index, local root type id, access string (e.g. "0:1:2"), kind.</summary>
public readonly record struct CoreRelocation(int InstructionOffset, uint TypeId, string AccessString, CoreRelocationKind Kind);

/// <summary>Per-ELF-section records from .BTF.ext (section names resolved through the object's BTF strings).</summary>
/// <remarks>
/// The records are kept as arrays, which the parser reads directly: ImmutableArray members over these record structs
/// would be compiled by the JIT at the first load of every session (ReadyToRun cannot precompile framework generics
/// over the core's types). The ImmutableArray views wrap the same arrays without a copy.
/// </remarks>
public sealed record BtfExtSection
{
    public BtfExtSection(string SectionName, ImmutableArray<BtfFuncInfo> FuncInfos, ImmutableArray<BtfLineInfo> LineInfos, ImmutableArray<CoreRelocation> CoreRelocations)
        : this(SectionName,
            ImmutableCollectionsMarshal.AsArray(FuncInfos) ?? ValueList<BtfFuncInfo>.Empty,
            ImmutableCollectionsMarshal.AsArray(LineInfos) ?? ValueList<BtfLineInfo>.Empty,
            ImmutableCollectionsMarshal.AsArray(CoreRelocations) ?? ValueList<CoreRelocation>.Empty)
    {
    }

    internal BtfExtSection(string sectionName, BtfFuncInfo[] funcInfos, BtfLineInfo[] lineInfos, CoreRelocation[] coreRelocations)
    {
        ArgumentNullException.ThrowIfNull(sectionName);
        SectionName = sectionName;
        FuncInfoArray = funcInfos;
        LineInfoArray = lineInfos;
        CoreRelocationArray = coreRelocations;
    }

    public string SectionName { get; }
    public ImmutableArray<BtfFuncInfo> FuncInfos => ImmutableCollectionsMarshal.AsImmutableArray(FuncInfoArray);
    public ImmutableArray<BtfLineInfo> LineInfos => ImmutableCollectionsMarshal.AsImmutableArray(LineInfoArray);
    public ImmutableArray<CoreRelocation> CoreRelocations => ImmutableCollectionsMarshal.AsImmutableArray(CoreRelocationArray);

    internal BtfFuncInfo[] FuncInfoArray { get; }
    internal BtfLineInfo[] LineInfoArray { get; }
    internal CoreRelocation[] CoreRelocationArray { get; }

    public void Deconstruct(out string SectionName, out ImmutableArray<BtfFuncInfo> FuncInfos, out ImmutableArray<BtfLineInfo> LineInfos, out ImmutableArray<CoreRelocation> CoreRelocations)
    {
        SectionName = this.SectionName;
        FuncInfos = this.FuncInfos;
        LineInfos = this.LineInfos;
        CoreRelocations = this.CoreRelocations;
    }
}

/// <summary>The decoded .BTF.ext section of an object.</summary>
public sealed class BtfExt
{
    // The parser reads sections through a Dictionary; the ImmutableDictionary is made when someone asks for it. Building one
    // JIT-compiled parts of ImmutableDictionary (its hash bucket nodes) at the first parse of every session.
    private readonly IReadOnlyDictionary<string, BtfExtSection> _byName;
    private ImmutableDictionary<string, BtfExtSection>? _sections;

    public BtfExt(ImmutableDictionary<string, BtfExtSection> sections, uint funcInfoRecordSize, uint lineInfoRecordSize)
    { _sections = sections; _byName = sections; FuncInfoRecordSize = funcInfoRecordSize; LineInfoRecordSize = lineInfoRecordSize; }

    internal BtfExt(Dictionary<string, BtfExtSection> sections, uint funcInfoRecordSize, uint lineInfoRecordSize)
    { _byName = sections; FuncInfoRecordSize = funcInfoRecordSize; LineInfoRecordSize = lineInfoRecordSize; }

    /// <summary>Records by ELF section name.</summary>
    public ImmutableDictionary<string, BtfExtSection> Sections
    {
        get
        {
            if (_sections is { } made) return made;
            var built = _byName.ToImmutableDictionary(StringComparer.Ordinal);
            return Interlocked.CompareExchange(ref _sections, built, null) ?? built;
        }
    }

    /// <summary>The records of one ELF section, if it has any.</summary>
    internal bool TryGetSection(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out BtfExtSection section) =>
        _byName.TryGetValue(name, out section);
    public uint FuncInfoRecordSize { get; }
    public uint LineInfoRecordSize { get; }

    /// <summary>Parses .BTF.ext bytes; strings resolve through <paramref name="btf"/>. Byte offsets become instruction indexes.</summary>
    /// <exception cref="BpfFormatException">Malformed input.</exception>
    public static BtfExt Parse(ReadOnlySpan<byte> raw, BtfSpec btf, string source)
    {
        ArgumentNullException.ThrowIfNull(btf);
        ArgumentNullException.ThrowIfNull(source);
        return new BtfExtReader(raw, btf, source).Read();
    }
}
