using System.Globalization;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>
/// Attaches programs where their ELF section says, like a libbpf skeleton's attach: tracepoint/CAT/NAME, tp/,
/// raw_tp/NAME, raw_tracepoint/, tp_btf/, fentry/, fexit/, fmod_ret/, lsm/, kprobe/FUNC[+OFF], kretprobe/, ksyscall/,
/// kretsyscall/, uprobe/PATH:FUNC[+OFF], uretprobe/, iter/. A section that names no target ("uprobe", "perf_event",
/// "xdp", "struct_ops"...) is skipped, as libbpf does: those are attached by hand.
/// </summary>
public static class SectionLinks
{
    /// <summary>What the section asks for, or null when it names no target to attach to.</summary>
    public static SectionTarget? Parse(string section)
    {
        ArgumentNullException.ThrowIfNull(section);
        int slash = section.IndexOf('/');
        if (slash < 0) return null;
        var kind = section[..slash];
        var rest = section[(slash + 1)..];
        if (rest.Length == 0) return null;
        switch (kind)
        {
            case "tracepoint" or "tp":
                return new SectionTarget(SectionTargetKind.Tracepoint, rest);
            case "raw_tp" or "raw_tracepoint" or "raw_tp.w" or "raw_tracepoint.w":
                return new SectionTarget(SectionTargetKind.RawTracepoint, rest);
            case "tp_btf" or "fentry" or "fexit" or "fmod_ret" or "lsm" or "fentry.s" or "fexit.s" or "fmod_ret.s" or "lsm.s":
                return new SectionTarget(SectionTargetKind.Tracing, rest);
            case "kprobe" or "kretprobe":
                var (function, offset) = SplitOffset(rest);
                return new SectionTarget(SectionTargetKind.Kprobe, function, Offset: offset, Return: kind == "kretprobe");
            case "ksyscall" or "kretsyscall":
                return new SectionTarget(SectionTargetKind.Ksyscall, rest, Return: kind == "kretsyscall");
            case "uprobe" or "uretprobe" or "uprobe.s" or "uretprobe.s":
                int colon = rest.LastIndexOf(':');
                if (colon <= 0) return new SectionTarget(SectionTargetKind.Uprobe, rest, Return: kind.StartsWith("uret", StringComparison.Ordinal));
                var (symbol, symbolOffset) = SplitOffset(rest[(colon + 1)..]);
                return new SectionTarget(SectionTargetKind.Uprobe, symbol, Path: rest[..colon], Offset: symbolOffset,
                    Return: kind.StartsWith("uret", StringComparison.Ordinal));
            case "usdt":
                return new SectionTarget(SectionTargetKind.Usdt, rest);
            case "iter" or "iter.s":
                return new SectionTarget(SectionTargetKind.Iterator, rest);
            default:
                return null;
        }
    }

    /// <summary>
    /// Attaches <paramref name="program"/> where its section says; null when the section names no target.
    /// </summary>
    /// <exception cref="LinkAttachException">The section's target cannot be attached (missing, unsupported, refused).</exception>
    public static BpfLink? Attach(LoadedProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (Parse(program.SectionName) is not { } t) return null;
        return t.Kind switch
        {
            SectionTargetKind.Tracepoint => TracepointLinks.Attach(program, t.Name),
            SectionTargetKind.RawTracepoint => RawTracepointLinks.Attach(program, t.Name),
            SectionTargetKind.Tracing => RawTracepointLinks.AttachTracing(program),
            SectionTargetKind.Kprobe => KprobeLinks.Attach(program, t.Name, t.Offset, t.Return),
            SectionTargetKind.Ksyscall => KprobeLinks.AttachSyscall(program, t.Name, t.Return),
            SectionTargetKind.Uprobe when t.Path is null =>
                throw new LinkAttachException(program.Name, $"uprobe {t.Name}", "the section must read uprobe/PATH:FUNCTION[+OFFSET]"),
            SectionTargetKind.Uprobe => UprobeLinks.Attach(program, t.Path, t.Name.Length == 0 ? null : t.Name, t.Offset, -1, t.Return),
            SectionTargetKind.Usdt => throw new LinkAttachException(program.Name, $"usdt {t.Name}",
                "USDT probes are not supported (attach a uprobe to the probe's address instead)", Errno.EOPNOTSUPP),
            SectionTargetKind.Iterator => IteratorLinks.Attach(program),
            _ => null,
        };
    }

    /// <summary>
    /// Attaches every program whose section names a target, in order. All or nothing: when one fails, those already
    /// attached are detached and the failure (naming the program and the target) is thrown.
    /// </summary>
    /// <exception cref="LinkAttachException">One program could not be attached; nothing stays attached.</exception>
    public static IReadOnlyList<BpfLink> AttachAll(IEnumerable<LoadedProgram> programs)
    {
        ArgumentNullException.ThrowIfNull(programs);
        var links = new List<BpfLink>();
        try
        {
            foreach (var program in programs)
                if (Attach(program) is { } link) links.Add(link);
        }
        catch
        {
            for (int i = links.Count - 1; i >= 0; i--) links[i].Dispose();
            throw;
        }
        return links;
    }

    /// <summary>"FUNC+0x10" → (FUNC, 0x10); decimal offsets too.</summary>
    private static (string Name, ulong Offset) SplitOffset(string text)
    {
        int plus = text.LastIndexOf('+');
        if (plus <= 0) return (text, 0);
        var number = text[(plus + 1)..];
        ulong offset;
        bool ok = number.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(number[2..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out offset)
            : ulong.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out offset);
        return ok ? (text[..plus], offset) : (text, 0);
    }
}

/// <summary>What kind of hook a section names.</summary>
public enum SectionTargetKind { Tracepoint, RawTracepoint, Tracing, Kprobe, Ksyscall, Uprobe, Usdt, Iterator }

/// <summary>A section's attach target: a tracepoint "CAT/NAME", function, binary path and offset...</summary>
public sealed record SectionTarget(SectionTargetKind Kind, string Name, string? Path = null, ulong Offset = 0, bool Return = false);
