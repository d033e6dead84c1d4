using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Netlink;

/// <summary>
/// A network namespace held by a descriptor (/run/netns/NAME, /proc/PID/ns/net). Work that must happen inside it
/// (resolving an ifindex, opening a netlink or ordinary socket, creating a netfilter or XDP link) runs on a dedicated
/// thread that enters it with setns(2), so the calling thread and the rest of the process never change namespace.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private NetworkNamespace(BpfFd fd, string path)
    {
        Fd = fd;
        Path = path;
    }

    /// <summary>The namespace descriptor (what sk_lookup links take as their target).</summary>
    public BpfFd Fd { get; }

    /// <summary>Where it was opened from.</summary>
    public string Path { get; }

    /// <summary>Opens the namespace of a bind mount such as /run/netns/NAME, or a /proc/PID/ns/net file.</summary>
    /// <exception cref="ArgumentException">The path is missing or is not a network namespace.</exception>
    public static NetworkNamespace Open(string path)
    {
        int fd = NetlinkNative.Open(path, NetlinkNative.OpenReadOnly | NetlinkNative.OpenCloexec);
        if (fd < 0)
            throw new ArgumentException($"cannot open network namespace '{path}': {Errno.Describe(Marshal.GetLastPInvokeError())}", nameof(path));
        var handle = new BpfFd(fd);
        // setns with CLONE_NEWNET on a probe thread is the kernel's own check that this is a network namespace.
        var probe = new NetworkNamespace(handle, path);
        try
        {
            probe.Run(() => 0);
        }
        catch (InvalidOperationException e)
        {
            handle.Dispose();
            throw new ArgumentException($"'{path}' is not a network namespace ({e.Message})", nameof(path), e);
        }
        return probe;
    }

    /// <summary>The network namespace of process <paramref name="pid"/>.</summary>
    public static NetworkNamespace OpenProcess(int pid) => Open($"/proc/{pid}/ns/net");

    /// <summary>Runs <paramref name="work"/> on a fresh thread inside this namespace and returns its result (or rethrows).</summary>
    /// <exception cref="InvalidOperationException">setns failed.</exception>
    public T Run<T>(Func<T> work)
    {
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                using (var lease = Fd.Lease())
                    if (NetlinkNative.SetNs(lease.Value, NetlinkNative.CloneNewNet) != 0)
                        throw new InvalidOperationException($"setns({Path}) failed: {Errno.Describe(Marshal.GetLastPInvokeError())}");
                result = work();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }, 256 * 1024) { IsBackground = true, Name = "netns " + Path };
        thread.Start();
        thread.Join();
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        return result;
    }

    /// <summary>Runs <paramref name="work"/> inside this namespace.</summary>
    public void Run(Action work) => Run(() => { work(); return 0; });

    public void Dispose() => Fd.Dispose();

    public override string ToString() => $"netns {Path}";
}
