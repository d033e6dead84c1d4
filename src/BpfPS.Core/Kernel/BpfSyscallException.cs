namespace BpfPS.Core.Kernel;

/// <summary>A bpf(2) command failed. Carries the command, the errno and, for loads, the kernel's log.</summary>
public sealed class BpfSyscallException : Exception
{
    /// <summary>What privileged callers need; the kernel says only EPERM.</summary>
    public const string PermissionHint =
        "the bpf() syscall needs root, or CAP_BPF plus CAP_PERFMON (tracing programs) / CAP_NET_ADMIN (networking programs), or CAP_SYS_ADMIN on older kernels";

    public BpfSyscallException(BpfCommand command, int errno, string? detail = null, string? log = null)
        : base(Compose(command, errno, detail))
    {
        Command = command;
        ErrorNumber = errno;
        Log = string.IsNullOrEmpty(log) ? null : log;
    }

    public BpfCommand Command { get; }
    /// <summary>The errno the kernel returned.</summary>
    public int ErrorNumber { get; }
    /// <summary>Symbolic errno name, e.g. "EINVAL".</summary>
    public string ErrorName => Errno.Name(ErrorNumber);
    /// <summary>The verifier / BTF log the kernel wrote, when one was requested.</summary>
    public string? Log { get; }
    /// <summary>EPERM or EACCES: usually missing privileges (EACCES from PROG_LOAD is also the verifier's rejection code).</summary>
    public bool IsPermissionDenied => Errno.IsPermissionDenied(ErrorNumber) && !(Command == BpfCommand.ProgLoad && ErrorNumber == Errno.EACCES && Log is not null);

    private static string Compose(BpfCommand command, int errno, string? detail)
    {
        var message = $"bpf({CommandName(command)}) failed: {Errno.Describe(errno)}";
        if (detail is not null) message += $": {detail}";
        if (errno == Errno.EPERM)
            message += HasBpfCapability()
                ? " (refused although this process is privileged: the kernel does not permit this here, e.g. lockdown or an unsupported program type)"
                : $" ({PermissionHint})";
        return message;
    }

    /// <summary>
    /// Whether this process holds CAP_BPF or CAP_SYS_ADMIN in its effective set (CapEff in /proc/self/status): root whose
    /// capabilities were dropped (setpriv, capsh, a container) is not privileged for bpf(), whatever its uid.
    /// </summary>
    internal static bool HasBpfCapability()
    {
        const int CapSysAdmin = 21, CapBpf = 39;   // linux/capability.h
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("CapEff:", StringComparison.Ordinal))
                    return (Convert.ToUInt64(line[7..].Trim(), 16) & (1UL << CapSysAdmin | 1UL << CapBpf)) != 0;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return Environment.IsPrivilegedProcess;
    }

    /// <summary>"BPF_MAP_CREATE" style name, as in the uapi header.</summary>
    public static string CommandName(BpfCommand command) => command switch
    {
        BpfCommand.MapCreate => "BPF_MAP_CREATE",
        BpfCommand.MapLookupElem => "BPF_MAP_LOOKUP_ELEM",
        BpfCommand.MapUpdateElem => "BPF_MAP_UPDATE_ELEM",
        BpfCommand.MapDeleteElem => "BPF_MAP_DELETE_ELEM",
        BpfCommand.MapGetNextKey => "BPF_MAP_GET_NEXT_KEY",
        BpfCommand.ProgLoad => "BPF_PROG_LOAD",
        BpfCommand.ObjPin => "BPF_OBJ_PIN",
        BpfCommand.ObjGet => "BPF_OBJ_GET",
        BpfCommand.ProgTestRun => "BPF_PROG_TEST_RUN",
        BpfCommand.ProgGetNextId => "BPF_PROG_GET_NEXT_ID",
        BpfCommand.MapGetNextId => "BPF_MAP_GET_NEXT_ID",
        BpfCommand.ProgGetFdById => "BPF_PROG_GET_FD_BY_ID",
        BpfCommand.MapGetFdById => "BPF_MAP_GET_FD_BY_ID",
        BpfCommand.ObjGetInfoByFd => "BPF_OBJ_GET_INFO_BY_FD",
        BpfCommand.BtfLoad => "BPF_BTF_LOAD",
        BpfCommand.BtfGetFdById => "BPF_BTF_GET_FD_BY_ID",
        BpfCommand.MapFreeze => "BPF_MAP_FREEZE",
        BpfCommand.BtfGetNextId => "BPF_BTF_GET_NEXT_ID",
        BpfCommand.MapLookupBatch => "BPF_MAP_LOOKUP_BATCH",
        BpfCommand.MapUpdateBatch => "BPF_MAP_UPDATE_BATCH",
        BpfCommand.MapDeleteBatch => "BPF_MAP_DELETE_BATCH",
        BpfCommand.EnableStats => "BPF_ENABLE_STATS",
        BpfCommand.ProgBindMap => "BPF_PROG_BIND_MAP",
        _ => "BPF_" + command,
    };
}
