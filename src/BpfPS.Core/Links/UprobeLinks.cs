using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>uprobes and uretprobes (the "uprobe" perf PMU), and uprobe_multi links (BPF_TRACE_UPROBE_MULTI).</summary>
public static unsafe class UprobeLinks
{
    /// <summary>
    /// Attaches a uprobe program to <paramref name="symbol"/> (+<paramref name="offset"/>) in <paramref name="path"/>,
    /// or to its return; with no symbol, <paramref name="offset"/> is a file offset. <paramref name="pid"/> -1: every process.
    /// </summary>
    /// <exception cref="LinkAttachException">Wrong program type, missing binary or function, no uprobe PMU, or the kernel refused.</exception>
    public static BpfLink Attach(LoadedProgram program, string path, string? symbol, ulong offset = 0, int pid = -1, bool returnProbe = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var kind = returnProbe ? "uretprobe" : "uprobe";
        var target = $"{kind} {path}:{symbol ?? ""}{(offset != 0 || symbol is null ? $"+0x{offset:x}" : "")}{(pid >= 0 ? $" (pid {pid})" : "")}";
        if (program.Type != BpfProgramType.Kprobe || program.ExpectedAttachType == BpfAttachType.TraceUprobeMulti)
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program cannot attach to a {kind} (it needs SEC(\"{kind}\"))");
        var binary = ResolveBinary(program, path, target);
        ulong fileOffset = offset + (symbol is null ? 0 : SymbolOffset(program, binary, symbol, target));
        if (PerfEvents.PmuType("uprobe") is not uint pmu)
            throw new LinkAttachException(program.Name, target, "this kernel has no uprobe PMU (/sys/bus/event_source/devices/uprobe: CONFIG_UPROBE_EVENTS is off)", Errno.EOPNOTSUPP);
        BpfFd perfEvent;
        try
        {
            perfEvent = PerfEvents.OpenProbe(pmu, returnProbe, PerfEvents.RetprobeBit("uprobe"), binary, fileOffset, pid);
        }
        catch (PerfEventException e)
        {
            var cause = e.ErrorNumber == Errno.ESRCH ? $"no process {pid}" : e.Message;
            throw new LinkAttachException(program.Name, target, cause, e.ErrorNumber, e);
        }
        return PerfEvents.Attach(program, perfEvent, target);
    }

    /// <summary>
    /// Attaches an uprobe.multi program to several functions of one binary in one link (BPF_TRACE_UPROBE_MULTI, 6.6+).
    /// </summary>
    /// <exception cref="LinkAttachException">Wrong program type, missing binary or function, or the kernel refused.</exception>
    public static KernelLink AttachMulti(LoadedProgram program, string path, IReadOnlyList<string> symbols, int pid = -1, bool returnProbe = false)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(symbols);
        var target = $"uprobe_multi {path}:{string.Join(",", symbols)}{(pid >= 0 ? $" (pid {pid})" : "")}";
        if (program.Type != BpfProgramType.Kprobe || program.ExpectedAttachType != BpfAttachType.TraceUprobeMulti)
            throw new LinkAttachException(program.Name, target, $"only SEC(\"uprobe.multi\") programs attach to several functions at once; this is a {program.Type} program from '{program.SectionName}'");
        if (symbols.Count == 0) throw new LinkAttachException(program.Name, target, "no function named");
        var binary = ResolveBinary(program, path, target);
        var offsets = symbols.Select(s => SymbolOffset(program, binary, s, target)).ToArray();
        const uint FlagReturn = 1; // BPF_F_UPROBE_MULTI_RETURN
        fixed (byte* p = System.Text.Encoding.UTF8.GetBytes(binary + "\0"))
        fixed (ulong* o = offsets)
        {
            var attr = new LinkCreateAttr
            {
                AttachType = (uint)BpfAttachType.TraceUprobeMulti,
                UprobeMultiPath = (ulong)p, UprobeMultiOffsets = (ulong)o, UprobeMultiCount = (uint)offsets.Length,
                UprobeMultiFlags = returnProbe ? FlagReturn : 0, UprobeMultiPid = pid < 0 ? 0 : (uint)pid,
            };
            return KernelLink.Create(program, ref attr, target);
        }
    }

    /// <summary>The binary's full path: as given when it exists, else found on PATH (a bare command name).</summary>
    private static string ResolveBinary(LoadedProgram program, string path, string target)
    {
        if (File.Exists(path)) return Path.GetFullPath(path);
        if (!path.Contains('/'))
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
            {
                var candidate = Path.Combine(dir, path);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new LinkAttachException(program.Name, target, $"no such file '{path}'", Errno.ENOENT);
    }

    private static ulong SymbolOffset(LoadedProgram program, string binary, string symbol, string target)
    {
        try
        {
            return NativeElfSymbols.FileOffset(binary, symbol);
        }
        catch (KeyNotFoundException e)
        {
            throw new LinkAttachException(program.Name, target, e.Message, Errno.ENOENT, e);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            throw new LinkAttachException(program.Name, target, e.Message, 0, e);
        }
    }
}
