using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace BpfPS.Core.Tests;

/// <summary>
/// The C test objects in tests/fixtures, compiled on demand into build/fixtures/NAME.o with clang-14 (when the object is
/// missing or older than its source), so <c>dotnet test</c> works on a fresh clone.
/// </summary>
public static class Fixtures
{
    private static readonly object CompileLock = new();
    private static readonly Lazy<string> Root = new(FindRepositoryRoot);
    private static readonly Lazy<string?> Clang = new(() => FindTool("clang-14") ?? FindTool("clang"));

    /// <summary>The repository root (the folder holding BpfPS.sln).</summary>
    public static string RepositoryRoot => Root.Value;

    /// <summary>True when a clang that can target BPF is on PATH.</summary>
    public static bool ClangAvailable => Clang.Value is not null;

    /// <summary>tests/fixtures/NAME.c.</summary>
    public static string SourcePath(string name) => System.IO.Path.Combine(RepositoryRoot, "tests", "fixtures", name + ".c");

    /// <summary>
    /// build/fixtures/NAME.o, compiled from tests/fixtures/NAME.c first when needed.
    /// </summary>
    /// <exception cref="FileNotFoundException">No such fixture source.</exception>
    /// <exception cref="InvalidOperationException">The object is missing or stale and clang is unavailable or fails.</exception>
    public static string Path(string name) =>
        Compile(name, Clang.Value, "clang-14", System.IO.Path.Combine(RepositoryRoot, "build", "fixtures", name + ".o"));

    /// <summary>
    /// build/fixtures/NAME.COMPILER.o, built with another clang (e.g. "clang-15" for relocations clang-14 cannot emit),
    /// or null when that compiler is not installed.
    /// </summary>
    public static string? PathBuiltWith(string name, string compiler) =>
        FindTool(compiler) is { } tool
            ? Compile(name, tool, compiler, System.IO.Path.Combine(RepositoryRoot, "build", "fixtures", $"{name}.{compiler}.o"))
            : null;

    private static string Compile(string name, string? compiler, string compilerName, string output)
    {
        string source = SourcePath(name);
        if (!File.Exists(source)) throw new FileNotFoundException($"no fixture source {source}", source);

        lock (CompileLock)
        {
            if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(source))
                return output;
            if (compiler is null)
                throw new InvalidOperationException($"{output} is missing or stale and {compilerName} is not installed");
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(output)!);
            // Compile to a private name and rename, so concurrent test runs never see a half-written object.
            string temp = output + "." + Environment.ProcessId + "." + Guid.NewGuid().ToString("N") + ".tmp";
            var (code, _, err) = Run(compiler,
                "-target", "bpf", "-O2", "-g", "-D__TARGET_ARCH_x86",
                "-I/usr/include/x86_64-linux-gnu", "-I" + System.IO.Path.GetDirectoryName(source)!,
                "-c", source, "-o", temp);
            if (code != 0)
            {
                File.Delete(temp);
                throw new InvalidOperationException($"{compilerName} failed on {source} (exit {code}):\n{err}");
            }
            File.Move(temp, output, overwrite: true);
            return output;
        }
    }

    /// <summary>The object's bytes (compiling first when needed).</summary>
    public static byte[] Bytes(string name) => File.ReadAllBytes(Path(name));

    /// <summary>Runs a program to completion and returns its exit code and output.</summary>
    internal static (int ExitCode, string StdOut, string StdErr) Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout, stderr.Result);
    }

    /// <summary>The full path of an executable on PATH, or null.</summary>
    internal static string? FindTool(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            string candidate = System.IO.Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "BpfPS.sln"))) return dir.FullName;
        }
        // Tests built with --artifacts-path outside the tree: use where this file was compiled from.
        for (var dir = new DirectoryInfo(System.IO.Path.GetDirectoryName(ThisSourceFile())!); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "BpfPS.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("cannot find the repository root (BpfPS.sln) above " + AppContext.BaseDirectory);
    }

    private static string ThisSourceFile([CallerFilePath] string path = "") => path;
}
