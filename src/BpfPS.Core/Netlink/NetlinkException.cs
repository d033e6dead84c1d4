using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>A netlink request failed: the kernel's errno and, when it gave one, its extended-ack message.</summary>
public sealed class NetlinkException : Exception
{
    public NetlinkException(string operation, int errno, string? kernelMessage = null)
        : base($"netlink {operation} failed: {Errno.Describe(errno)}" + (string.IsNullOrEmpty(kernelMessage) ? "" : $": {kernelMessage}"))
    {
        Operation = operation;
        ErrorNumber = errno;
        KernelMessage = string.IsNullOrEmpty(kernelMessage) ? null : kernelMessage;
    }

    /// <summary>What was asked, e.g. "RTM_SETLINK (xdp)".</summary>
    public string Operation { get; }
    /// <summary>The errno the kernel answered with.</summary>
    public int ErrorNumber { get; }
    /// <summary>The extended-ack text (NLMSGERR_ATTR_MSG), which often says more than the errno.</summary>
    public string? KernelMessage { get; }
}
