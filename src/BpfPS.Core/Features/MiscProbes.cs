using BpfPS.Core.Asm;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>Verifier and syscall capabilities, each probed by one socket-filter load or one bpf() command.</summary>
internal static class MiscProbes
{
    private const int ClassicMaxInstructions = 4096;   // BPF_MAXINSNS: the limit before 5.2 (and for unprivileged loads)
    private const int TokenCreateCommand = 36;         // BPF_TOKEN_CREATE (6.9)

    internal static readonly (string Name, string What)[] Probes =
    [
        ("large_insn_limit", "a program of 4097 instructions (over the old 4096 limit)"),
        ("bounded_loops", "a loop with a backward jump that runs 10 times"),
        ("v2_isa_extension", "BPF_JLT (ISA v2 conditional jumps)"),
        ("v3_isa_extension", "BPF_JMP32 (ISA v3 32-bit jumps)"),
        ("v4_isa_extension", "MOVSX sign-extending move (ISA v4)"),
        ("bpf_token", "the BPF_TOKEN_CREATE command"),
    ];

    internal static ProbeResult Probe(string name) => name switch
    {
        "large_insn_limit" => LoadSocketFilter(LargeProgram(), Probes[0].What),
        "bounded_loops" => LoadSocketFilter(
            [Mov(0, 10), new BpfInstruction(0x17, 0, 0, 0, 1), new BpfInstruction(0x55, 0, 0, -2, 0), Exit], Probes[1].What),
        "v2_isa_extension" => LoadSocketFilter(
            [Mov(0, 0), new BpfInstruction(0xa5, 0, 0, 1, 1), Mov(0, 1), Exit], Probes[2].What),
        "v3_isa_extension" => LoadSocketFilter(
            [Mov(0, 0), new BpfInstruction(0xa6, 0, 0, 1, 1), Mov(0, 1), Exit], Probes[3].What),
        "v4_isa_extension" => LoadSocketFilter(
            [Mov(0, 1), new BpfInstruction(0xbf, 0, 0, 8, 0), Exit], Probes[4].What),
        "bpf_token" => TokenCommand(),
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such probe"),
    };

    private static BpfInstruction Mov(byte register, int value) => new(0xb7, register, 0, 0, value);
    private static readonly BpfInstruction Exit = new(0x95, 0, 0, 0, 0);

    private static BpfInstruction[] LargeProgram()
    {
        var program = new BpfInstruction[ClassicMaxInstructions + 1];
        for (int i = 0; i < ClassicMaxInstructions; i++) program[i] = Mov(0, 1);
        program[^1] = Exit;
        return program;
    }

    private static ProbeResult LoadSocketFilter(BpfInstruction[] program, string what)
    {
        try
        {
            using var fd = BpfSyscall.ProgramLoad(new ProgramLoadRequest
            {
                Type = BpfProgramType.SocketFilter, Instructions = program, License = "GPL", LogLevel = 1, LogSize = 4096, RetryWithLogOnFailure = false,
            }).Fd;
            return ProbeResult.Yes($"the verifier accepts {what}");
        }
        catch (BpfSyscallException e)
        {
            return ProbeResult.No(ProgramProbes.Refusal(e), e.ErrorNumber);
        }
    }

    private unsafe struct TokenCreateAttr
    {
        public uint Flags;
        public int BpffsFd;
#pragma warning disable CS0169 // padding: the kernel wants the whole union zeroed
        private unsafe fixed byte _rest[136];
#pragma warning restore CS0169
    }

    /// <summary>BPF_TOKEN_CREATE with bpffs fd -1: EBADF from a kernel that has the command, EINVAL from one that does not.</summary>
    private static ProbeResult TokenCommand()
    {
        var attr = new TokenCreateAttr { Flags = 0, BpffsFd = -1 };
        int fd = BpfSyscall.Invoke((BpfCommand)TokenCreateCommand, ref attr, out int errno);
        if (fd >= 0)
        {
            NativeMethods.Close(fd);
            return ProbeResult.Yes("BPF_TOKEN_CREATE made a token");
        }
        return errno == Errno.EBADF
            ? ProbeResult.Yes("BPF_TOKEN_CREATE exists (it looked up the bpffs fd: EBADF); tokens come from a bpffs mounted with delegate_* options")
            : ProbeResult.No($"BPF_TOKEN_CREATE: {Errno.Describe(errno)}" + (errno == Errno.EINVAL ? " (the kernel does not know the command)" : ""), errno);
    }
}

/// <summary>The sysctls that govern BPF, read from /proc/sys.</summary>
internal static class SystemSettings
{
    internal static readonly (string Name, string Path, Func<string, bool> IsOn, string Meaning)[] Settings =
    [
        ("bpf_jit_enable", "/proc/sys/net/core/bpf_jit_enable", v => v != "0", "1: programs are JIT-compiled; 2: and the JIT output is logged; 0: interpreted"),
        ("bpf_jit_harden", "/proc/sys/net/core/bpf_jit_harden", v => v != "0", "constant blinding in the JIT: 0 off, 1 for unprivileged programs, 2 for all"),
        ("bpf_jit_kallsyms", "/proc/sys/net/core/bpf_jit_kallsyms", v => v != "0", "JIT-compiled programs appear in /proc/kallsyms (stack traces, perf)"),
        ("bpf_jit_limit", "/proc/sys/net/core/bpf_jit_limit", v => v != "0", "bytes of JIT memory unprivileged programs may use"),
        ("unprivileged_bpf_disabled", "/proc/sys/kernel/unprivileged_bpf_disabled", v => v != "0", "0: unprivileged users may call bpf(); 1: not, until reboot; 2: not, an admin may change it"),
    ];

    internal static (bool On, string? Value, string Detail) Read(int index)
    {
        var (_, path, isOn, meaning) = Settings[index];
        try
        {
            var value = File.ReadAllText(path).Trim();
            return (isOn(value), value, $"{path} = {value} ({meaning})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (false, null, $"{path} cannot be read: {e.Message}");
        }
    }
}

/// <summary>File systems BPF work depends on, found in /proc/mounts.</summary>
internal static class MountProbes
{
    internal static readonly (string Name, string FileSystem, string Why)[] Mounts =
    [
        ("bpffs", "bpf", "pinning maps, programs and links; BPF tokens"),
        ("tracefs", "tracefs", "tracepoint ids (events/), bpf_printk output (trace_pipe)"),
        ("cgroup2", "cgroup2", "attaching cgroup programs"),
        ("debugfs", "debugfs", "older tools reach tracefs through /sys/kernel/debug/tracing"),
    ];

    internal static (bool Mounted, string? Points, string Detail) Find(int index, string? mountsText = null)
    {
        var (_, fileSystem, why) = Mounts[index];
        string text;
        try { text = mountsText ?? File.ReadAllText("/proc/mounts"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return (false, null, $"/proc/mounts cannot be read: {e.Message}"); }
        var points = new List<string>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var fields = line.Split(' ');
            if (fields.Length >= 3 && fields[2] == fileSystem) points.Add(Unescape(fields[1]));
        }
        return points.Count > 0
            ? (true, string.Join(", ", points), $"{fileSystem} mounted at {string.Join(", ", points)} (needed for {why})")
            : (false, null, $"no {fileSystem} mount in /proc/mounts (needed for {why})");
    }

    /// <summary>/proc/mounts writes space, tab, newline and backslash as octal escapes.</summary>
    private static string Unescape(string field) =>
        field.Replace("\\040", " ", StringComparison.Ordinal).Replace("\\011", "\t", StringComparison.Ordinal)
             .Replace("\\012", "\n", StringComparison.Ordinal).Replace("\\134", "\\", StringComparison.Ordinal);
}
