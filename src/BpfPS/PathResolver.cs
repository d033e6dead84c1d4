using System.Management.Automation;

namespace BpfPS;

/// <summary>
/// Resolves -Path (wildcards) and -LiteralPath the PowerShell way: relative to the current location, through the
/// FileSystem provider, one ObjectNotFound error per path that matches nothing.
/// </summary>
internal static class PathResolver
{
    /// <summary>Existing files named by <paramref name="paths"/>; writes an error for each path that names none.</summary>
    public static List<string> ResolveFiles(PSCmdlet cmdlet, IEnumerable<string> paths, bool literal)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            foreach (var resolved in ResolveOne(cmdlet, path, literal))
            {
                if (Directory.Exists(resolved)) cmdlet.WriteError(ErrorRecords.NotAFile(resolved));
                else files.Add(resolved);
            }
        }
        return files;
    }

    /// <summary>The file system path for <paramref name="path"/>, taken literally and relative to the current location; the file need not exist (an output path).</summary>
    public static string ResolveOutput(PSCmdlet cmdlet, string path) =>
        cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);

    private static IEnumerable<string> ResolveOne(PSCmdlet cmdlet, string path, bool literal)
    {
        try
        {
            if (literal || !WildcardPattern.ContainsWildcardCharacters(path))
            {
                var full = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                if (File.Exists(full) || Directory.Exists(full)) return [full];
            }
            else
            {
                var matches = cmdlet.SessionState.Path.GetResolvedProviderPathFromPSPath(path, out var provider);
                if (provider.Name == "FileSystem" && matches.Count > 0) return matches;
            }
        }
        catch (Exception e) when (e is ItemNotFoundException or System.Management.Automation.DriveNotFoundException or ProviderNotFoundException or NotSupportedException)
        {
            // Reported below, naming the path as the user typed it.
        }
        cmdlet.WriteError(ErrorRecords.PathNotFound(path));
        return [];
    }
}
