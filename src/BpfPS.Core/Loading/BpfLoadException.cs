using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// Loading a collection failed; nothing it created is left behind. Names the object file and the program or map at
/// fault, and for a verifier rejection carries the whole verifier log (the message holds only its tail).
/// </summary>
public sealed class BpfLoadException : Exception
{
    public BpfLoadException(string objectPath, string? objectName, string message, int errorNumber = 0, string? verifierLog = null, Exception? inner = null)
        : base(Compose(objectPath, objectName, message), inner)
    {
        ObjectPath = objectPath;
        ObjectName = objectName;
        ErrorNumber = errorNumber;
        VerifierLog = string.IsNullOrEmpty(verifierLog) ? null : verifierLog;
        Reason = message;
    }

    /// <summary>The ELF object being loaded.</summary>
    public string ObjectPath { get; }
    /// <summary>The program or map that failed (e.g. "program 'handle_exec'", "map 'counts'", "BTF"), or null.</summary>
    public string? ObjectName { get; }
    /// <summary>The errno from the failing syscall, or 0 when the failure was found before reaching the kernel.</summary>
    public int ErrorNumber { get; }
    /// <summary>The full verifier (or BTF) log, when the kernel produced one.</summary>
    public string? VerifierLog { get; }
    /// <summary>What went wrong, without the object prefix.</summary>
    public string Reason { get; }
    /// <summary>The kernel refused for lack of privileges (EPERM, or EACCES without a verifier verdict).</summary>
    public bool IsPermissionDenied => InnerException is BpfSyscallException s ? s.IsPermissionDenied : Errno.IsPermissionDenied(ErrorNumber) && VerifierLog is null;

    private static string Compose(string objectPath, string? objectName, string message) =>
        objectName is null ? $"{objectPath}: {message}" : $"{objectPath}: {objectName}: {message}";
}
