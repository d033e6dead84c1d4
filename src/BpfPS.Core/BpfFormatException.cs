namespace BpfPS.Core;

/// <summary>
/// The one exception every reader in the core throws for malformed input (ELF, BTF, BTF.ext, instructions),
/// in the spirit of BadImageFormatException: it names the file, the section and the byte offset at fault.
/// </summary>
public sealed class BpfFormatException : Exception
{
    public BpfFormatException(string message, string? file = null, string? section = null, long offset = -1, Exception? inner = null)
        : base(Compose(message, file, section, offset), inner)
    {
        File = file;
        Section = section;
        Offset = offset;
        Reason = message;
    }

    /// <summary>The file the bad bytes came from, when known.</summary>
    public string? File { get; }
    /// <summary>The ELF section (or BTF part, e.g. "BTF type section") at fault, when known.</summary>
    public string? Section { get; }
    /// <summary>Byte offset of the fault within <see cref="Section"/> (or the file), or -1.</summary>
    public long Offset { get; }
    /// <summary>What is wrong, without the location prefix.</summary>
    public string Reason { get; }

    /// <summary>Returns a copy that names <paramref name="file"/>, for readers that work on bytes and learn the path later.</summary>
    public BpfFormatException WithFile(string file) =>
        File is null ? new BpfFormatException(Reason, file, Section, Offset, InnerException) : this;

    private static string Compose(string message, string? file, string? section, long offset)
    {
        var where = new List<string>(3);
        if (file is not null) where.Add(file);
        if (section is not null) where.Add(section);
        if (offset >= 0) where.Add($"offset 0x{offset:x}");
        return where.Count == 0 ? message : $"{string.Join(": ", where)}: {message}";
    }
}
