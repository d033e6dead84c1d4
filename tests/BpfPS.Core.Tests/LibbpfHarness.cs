using System.Globalization;
using BpfPS.Core.Asm;

namespace BpfPS.Core.Tests;

/// <summary>One program as libbpf 1.1 loaded it: the final instructions it sent, and which map each fd of that load was.</summary>
public sealed record LibbpfProgram(string Name, string Section, BpfInstruction[] Instructions, IReadOnlyDictionary<int, string> MapFdToName)
{
    /// <summary>
    /// A copy of <see cref="Instructions"/> with the fd of every map ld_imm64 (src_reg BPF_PSEUDO_MAP_FD or
    /// BPF_PSEUDO_MAP_VALUE) set to 0, and the map each such instruction named, by instruction index. Compare this with
    /// BpfPS's instructions normalised the same way: fds differ between loads, map names do not.
    /// </summary>
    public (BpfInstruction[] Instructions, IReadOnlyDictionary<int, string> MapByIndex) WithoutMapFds() =>
        LibbpfHarness.WithoutMapFds(Instructions, MapFdToName);
}

/// <summary>A program as libbpf 1.1 opened it.</summary>
public sealed record LibbpfProgramDefinition(string Name, string Section, uint Type, uint ExpectedAttachType);

/// <summary>A map as libbpf 1.1 opened it (internal maps named by their ELF section).</summary>
public sealed record LibbpfMapDefinition(string Name, uint Type, uint KeySize, uint ValueSize, uint MaxEntries, uint Flags,
    uint NumaNode, ulong MapExtra, uint KeyTypeId, uint ValueTypeId, string? InnerMapName);

/// <summary>What <c>libbpf_dump --info</c> reported: libbpf's view of an object after open, and its final BTF.</summary>
public sealed record LibbpfObjectInfo(IReadOnlyList<LibbpfProgramDefinition> Programs, IReadOnlyList<LibbpfMapDefinition> Maps,
    IReadOnlyDictionary<string, byte[]> InitialValues, byte[]? Btf);

/// <summary>Everything <c>libbpf_dump</c> reported for one object: programs loaded, refused, and skipped (autoload off).</summary>
public sealed record LibbpfDump(IReadOnlyDictionary<string, LibbpfProgram> Programs, IReadOnlyDictionary<string, int> Failures,
    IReadOnlyList<string> Skipped);

/// <summary>
/// Runs tests/harness/libbpf_dump (built on demand by tests/harness/build.sh into build/harness/) on an object and parses
/// its output. Loading needs root and a kernel with bpf(): guard tests with <see cref="Available"/>.
/// </summary>
public static class LibbpfHarness
{
    private static readonly object BuildLock = new();
    private static readonly Lazy<(string? Path, string Reason)> Built = new(Build);

    /// <summary>True when the harness is built (or buildable) and this process runs as root.</summary>
    public static bool Available => Built.Value.Path is not null && Environment.UserName == "root";

    /// <summary>Why <see cref="Available"/> is false (for Skip messages).</summary>
    public static string UnavailableReason =>
        Built.Value.Path is null ? Built.Value.Reason : Environment.UserName != "root" ? "loading BPF programs needs root" : "";

    /// <summary>Path of the built harness.</summary>
    public static string ExecutablePath => Built.Value.Path ?? throw new InvalidOperationException(Built.Value.Reason);

    /// <summary>Loads <paramref name="objectPath"/> with libbpf (all programs, or only <paramref name="programs"/>) and returns what it sent.</summary>
    public static LibbpfDump Dump(string objectPath, params string[] programs)
    {
        var args = new List<string> { objectPath };
        args.AddRange(programs);
        var (code, stdout, stderr) = Fixtures.Run(ExecutablePath, args.ToArray());
        if (code != 0) throw new InvalidOperationException($"libbpf_dump {objectPath} exited {code}: {stderr}");
        return Parse(stdout);
    }

    /// <summary>libbpf's view of an object after open (<c>libbpf_dump --info</c>); null when libbpf refuses to open it.</summary>
    public static LibbpfObjectInfo? Info(string objectPath)
    {
        var (code, stdout, _) = Fixtures.Run(ExecutablePath, "--info", objectPath);
        if (code != 0) return null;
        var programs = new List<LibbpfProgramDefinition>();
        var maps = new List<LibbpfMapDefinition>();
        var values = new Dictionary<string, byte[]>();
        byte[]? btf = null;
        foreach (var raw in stdout.Split('\n'))
        {
            var p = raw.TrimEnd('\r').Split(' ');
            uint U(int i) => uint.Parse(p[i], CultureInfo.InvariantCulture);
            switch (p[0])
            {
                case "progdef": programs.Add(new LibbpfProgramDefinition(p[1], p[2], U(3), U(4))); break;
                case "mapdef":
                    maps.Add(new LibbpfMapDefinition(p[1], U(2), U(3), U(4), U(5), U(6), U(7),
                        ulong.Parse(p[8], CultureInfo.InvariantCulture), U(9), U(10), p[11] == "-" ? null : p[11]));
                    break;
                case "mapdata": values[p[1]] = Convert.FromHexString(p.Length > 2 ? p[2] : ""); break;
                case "btf": btf = Convert.FromHexString(p[1]); break;
            }
        }
        return new LibbpfObjectInfo(programs, maps, values, btf);
    }

    /// <summary>
    /// Loads one program with verifier log level 2 (<c>libbpf_dump --log</c>): the program as loaded (null when the
    /// load failed) and every line of the verifier's log.
    /// </summary>
    public static (LibbpfProgram? Program, IReadOnlyList<string> Log) VerifierLog(string objectPath, string program)
    {
        var (code, stdout, stderr) = Fixtures.Run(ExecutablePath, "--log", objectPath, program);
        if (code != 0) throw new InvalidOperationException($"libbpf_dump --log {objectPath} {program} exited {code}: {stderr}");
        var log = new List<string>();
        var rest = new System.Text.StringBuilder();
        foreach (var line in stdout.Split('\n'))
        {
            if (line.StartsWith("log ", StringComparison.Ordinal)) log.Add(line[4..]);
            else rest.Append(line).Append('\n');
        }
        var dump = Parse(rest.ToString());
        return (dump.Programs.GetValueOrDefault(program), log);
    }

    /// <summary>Parses libbpf_dump output (format documented in tests/harness/libbpf_dump.c).</summary>
    public static LibbpfDump Parse(string output)
    {
        var programs = new Dictionary<string, LibbpfProgram>();
        var failures = new Dictionary<string, int>();
        var skipped = new List<string>();
        string? name = null, section = null;
        var insns = new List<BpfInstruction>();
        var maps = new Dictionary<int, string>();
        foreach (var raw in output.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.Length == 0) continue;
            var parts = line.Split(' ', 3);
            switch (parts[0])
            {
                case "prog":
                    name = parts[1];
                    section = parts.Length > 2 ? parts[2] : "";
                    insns = new List<BpfInstruction>();
                    maps = new Dictionary<int, string>();
                    break;
                case "map":
                    maps[int.Parse(parts[1], CultureInfo.InvariantCulture)] = parts[2];
                    break;
                case "insn":
                    insns.Add(ParseInstruction(parts[1]));
                    break;
                case "end":
                    if (name is null) throw new FormatException("'end' without 'prog'");
                    programs[name] = new LibbpfProgram(name, section!, insns.ToArray(), maps);
                    name = null;
                    break;
                case "fail":
                    failures[parts[1]] = int.Parse(parts[2], CultureInfo.InvariantCulture);
                    break;
                case "skip":
                    skipped.Add(parts[1]);
                    break;
                case "object":
                    break;
                default:
                    throw new FormatException($"unexpected libbpf_dump line: {line}");
            }
        }
        return new LibbpfDump(programs, failures, skipped);
    }

    /// <summary>See <see cref="LibbpfProgram.WithoutMapFds"/>.</summary>
    public static (BpfInstruction[] Instructions, IReadOnlyDictionary<int, string> MapByIndex) WithoutMapFds(
        BpfInstruction[] instructions, IReadOnlyDictionary<int, string> mapFdToName)
    {
        var copy = (BpfInstruction[])instructions.Clone();
        var byIndex = new Dictionary<int, string>();
        for (int i = 0; i < copy.Length; i++)
        {
            if (!copy[i].IsLoadImm64) continue;
            if (copy[i].Src is BpfPseudo.MapFd or BpfPseudo.MapValue)
            {
                byIndex[i] = mapFdToName.TryGetValue(copy[i].Immediate, out var map) ? map : $"fd:{copy[i].Immediate}";
                copy[i].Immediate = 0;
            }
            i++;
        }
        return (copy, byIndex);
    }

    private static BpfInstruction ParseInstruction(string hex)
    {
        if (hex.Length != 16) throw new FormatException($"instruction '{hex}' is not 16 hex digits");
        var bytes = Convert.FromHexString(hex);
        return BpfInstructions.FromBytes(bytes)[0];
    }

    private static (string? Path, string Reason) Build()
    {
        lock (BuildLock)
        {
            string root = Fixtures.RepositoryRoot;
            string exe = System.IO.Path.Combine(root, "build", "harness", "libbpf_dump");
            string source = System.IO.Path.Combine(root, "tests", "harness", "libbpf_dump.c");
            if (File.Exists(exe) && File.GetLastWriteTimeUtc(exe) >= File.GetLastWriteTimeUtc(source)) return (exe, "");
            if (!File.Exists("/usr/include/bpf/libbpf.h")) return (null, "libbpf-dev (libbpf 1.1 headers) is not installed");
            var (code, _, err) = Fixtures.Run("/bin/sh", System.IO.Path.Combine(root, "tests", "harness", "build.sh"));
            return code == 0 && File.Exists(exe) ? (exe, "") : (null, $"building the libbpf harness failed: {err}");
        }
    }
}
