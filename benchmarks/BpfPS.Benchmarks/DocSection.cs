namespace BpfPS.Benchmarks;

/// <summary>A benchmark's own section of docs/performance.md, between its start and end markers.</summary>
internal static class DocSection
{
    /// <summary>Replaces the section, or appends it at the end; the rest of the file is left alone.</summary>
    public static void Write(string path, string startMarker, string endMarker, string section)
    {
        string text = File.Exists(path) ? File.ReadAllText(path) : "";
        int start = text.IndexOf(startMarker, StringComparison.Ordinal), end = text.IndexOf(endMarker, StringComparison.Ordinal);
        text = start >= 0 && end > start
            ? text[..start] + section.TrimEnd() + text[(end + endMarker.Length)..]
            : text.TrimEnd() + "\n\n" + section.TrimEnd() + "\n";
        File.WriteAllText(path, text);
    }
}
