using System.Globalization;
using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>perf_event_attr.type values the attach code uses.</summary>
public enum PerfType : uint { Hardware = 0, Software = 1, Tracepoint = 2 }

/// <summary>Software events (PERF_COUNT_SW_*), for perf_event programs.</summary>
public enum PerfSoftwareEvent : ulong
{
    CpuClock = 0,
    TaskClock = 1,
    PageFaults = 2,
    ContextSwitches = 3,
    CpuMigrations = 4,
    PageFaultsMinor = 5,
    PageFaultsMajor = 6,
    AlignmentFaults = 7,
    EmulationFaults = 8,
    Dummy = 9,
    CgroupSwitches = 11,
}

/// <summary>
/// Opens perf events (tracepoints, kprobe/uprobe PMUs, software clocks) and attaches programs to them: by a
/// BPF_PERF_EVENT link where the kernel has one (5.15+), else with PERF_EVENT_IOC_SET_BPF.
/// </summary>
public static unsafe class PerfEvents
{
    private const ulong IocEnable = 0x2400, IocDisable = 0x2401, IocSetBpf = 0x40042408;
    private const long FlagFdCloexec = 8;
    /// <summary>PERF_ATTR_SIZE_VER5: every field we set is older than that.</summary>
    private const uint AttrSize = 112;

    /// <summary>struct perf_event_attr up to PERF_ATTR_SIZE_VER5 (the rest of the 128 bytes stays zero).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PerfEventAttr
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(4)] public uint Size;
        [FieldOffset(8)] public ulong Config;
        /// <summary>sample_period, or sample_freq with the freq bit.</summary>
        [FieldOffset(16)] public ulong SamplePeriodOrFrequency;
        [FieldOffset(24)] public ulong SampleType;
        [FieldOffset(40)] public ulong Flags;
        [FieldOffset(56)] public ulong Config1;
        [FieldOffset(64)] public ulong Config2;
    }

    private const ulong FlagFrequency = 1UL << 10;

    /// <summary>The dynamic PMU type of "kprobe" or "uprobe" (/sys/bus/event_source/devices/NAME/type), or null when absent.</summary>
    public static uint? PmuType(string pmu)
    {
        var file = $"/sys/bus/event_source/devices/{pmu}/type";
        return File.Exists(file) && uint.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var type) ? type : null;
    }

    /// <summary>The config bit that makes a kprobe/uprobe PMU event a return probe ("config:0" in format/retprobe).</summary>
    public static int RetprobeBit(string pmu)
    {
        var file = $"/sys/bus/event_source/devices/{pmu}/format/retprobe";
        if (!File.Exists(file)) return 0;
        var text = File.ReadAllText(file).Trim();
        return text.StartsWith("config:", StringComparison.Ordinal) && int.TryParse(text[7..], out var bit) ? bit : 0;
    }

    /// <summary>perf_event_open for tracepoint <paramref name="id"/> on all processes.</summary>
    internal static BpfFd OpenTracepoint(ulong id) =>
        Open(new PerfEventAttr { Type = (uint)PerfType.Tracepoint, Size = AttrSize, Config = id, SamplePeriodOrFrequency = 1 }, -1, 0);

    /// <summary>perf_event_open on a kprobe/uprobe PMU: <paramref name="name"/> is the function or binary path.</summary>
    internal static BpfFd OpenProbe(uint pmuType, bool retprobe, int retprobeBit, string name, ulong offsetOrAddress, int pid)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(name + "\0");
        fixed (byte* n = bytes)
        {
            var attr = new PerfEventAttr
            {
                Type = pmuType, Size = AttrSize, SamplePeriodOrFrequency = 1,
                Config = retprobe ? 1UL << retprobeBit : 0, Config1 = (ulong)n, Config2 = offsetOrAddress,
            };
            return Open(attr, pid < 0 ? -1 : pid, pid < 0 ? 0 : -1);
        }
    }

    /// <summary>perf_event_open for a software event on one CPU, sampling at <paramref name="frequency"/> Hz (all processes).</summary>
    internal static BpfFd OpenSoftware(PerfSoftwareEvent softwareEvent, ulong frequency, int cpu) =>
        Open(new PerfEventAttr
        {
            Type = (uint)PerfType.Software, Size = AttrSize, Config = (ulong)softwareEvent,
            SamplePeriodOrFrequency = frequency, Flags = FlagFrequency,
        }, -1, cpu);

    private static BpfFd Open(PerfEventAttr attr, int pid, int cpu)
    {
        if (NativeMethods.SysPerfEventOpen < 0) throw new PlatformNotSupportedException($"perf_event_open number unknown for {RuntimeInformation.ProcessArchitecture}");
        long fd = NativeMethods.Syscall5(NativeMethods.SysPerfEventOpen, &attr, pid, cpu, -1, FlagFdCloexec);
        if (fd < 0) throw new PerfEventException(Marshal.GetLastPInvokeError());
        return new BpfFd((int)fd);
    }

    /// <summary>
    /// Attaches <paramref name="program"/> to an open perf event, taking ownership of <paramref name="perfEvent"/>
    /// (closed with the link, or now if the attach fails).
    /// </summary>
    /// <exception cref="LinkAttachException">The kernel refused.</exception>
    internal static BpfLink Attach(LoadedProgram program, BpfFd perfEvent, string target)
    {
        var attr = new LinkCreateAttr { AttachType = (uint)BpfAttachType.PerfEvent };
        using (var lease = perfEvent.Lease()) attr.TargetFd = (uint)lease.Value;
        BpfFd linkFd;
        try
        {
            using var p = program.Fd.Lease();
            attr.ProgFd = (uint)p.Value;
            linkFd = BpfSyscall.LinkCreate(ref attr, target);
        }
        catch (BpfSyscallException e) when (e.ErrorNumber is Errno.EINVAL or Errno.EOPNOTSUPP or Errno.ENOTSUPP && !KernelHasPerfLinks)
        {
            // Kernels before 5.15 have no perf_event links: the older ioctl holds the attachment instead.
            return AttachByIoctl(program, perfEvent, target);
        }
        catch (BpfSyscallException e)
        {
            perfEvent.Dispose();
            throw LinkAttachException.FromSyscall(program.Name, target, e);
        }
        catch (ObjectDisposedException e)
        {
            perfEvent.Dispose();
            throw new LinkAttachException(program.Name, target, "the program was unloaded (its collection was removed)", 0, e);
        }
        var link = KernelLink.Adopt(program, linkFd, target, perfEvent);
        try
        {
            Ioctl(perfEvent, IocEnable, 0);
        }
        catch (PerfEventException e)
        {
            link.Dispose();
            throw new LinkAttachException(program.Name, target, e.Message, e.ErrorNumber, e);
        }
        return link;
    }

    /// <summary>True when the running kernel (5.15+) has BPF_LINK_TYPE_PERF_EVENT.</summary>
    private static bool KernelHasPerfLinks => KernelVersion.Current >= new Version(5, 15);

    private static BpfLink AttachByIoctl(LoadedProgram program, BpfFd perfEvent, string target)
    {
        try
        {
            using var p = program.Fd.Lease();
            Ioctl(perfEvent, IocSetBpf, p.Value);
            Ioctl(perfEvent, IocEnable, 0);
        }
        catch (PerfEventException e)
        {
            perfEvent.Dispose();
            throw new LinkAttachException(program.Name, target, e.Message, e.ErrorNumber, e);
        }
        return new PerfEventAttachment(program, target, perfEvent);
    }

    private static void Ioctl(BpfFd fd, ulong request, long argument)
    {
        using var lease = fd.Lease();
        if (NativeMethods.Ioctl(lease.Value, request, argument) != 0)
            throw new PerfEventException(Marshal.GetLastPInvokeError(), $"ioctl 0x{request:x}");
    }

    /// <summary>A program attached by PERF_EVENT_IOC_SET_BPF: no kernel link; closing the perf event detaches it.</summary>
    private sealed class PerfEventAttachment(LoadedProgram program, string target, BpfFd perfEvent)
        : BpfLink(program, target, BpfLinkType.PerfEvent, BpfAttachType.PerfEvent, null, 0)
    {
        protected override void Detach()
        {
            try
            {
                using var lease = perfEvent.Lease();
                NativeMethods.Ioctl(lease.Value, IocDisable, 0);
            }
            catch (ObjectDisposedException) { }
            perfEvent.Dispose();
        }
    }
}

/// <summary>perf_event_open or a perf ioctl failed.</summary>
public sealed class PerfEventException(int errorNumber, string what = "perf_event_open")
    : Exception($"{what} failed: {Errno.Describe(errorNumber)}")
{
    public int ErrorNumber { get; } = errorNumber;
}

/// <summary>The running kernel's version (from uname's release).</summary>
/// <summary>The running kernel's major.minor version, for choosing between mechanisms.</summary>
public static class KernelVersion
{
    private static readonly Lazy<Version> s_current = new(() =>
    {
        try
        {
            var release = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
            var parts = release.Split('.', '-');
            return new Version(int.Parse(parts[0], CultureInfo.InvariantCulture), parts.Length > 1 && int.TryParse(parts[1], out var minor) ? minor : 0);
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException)
        {
            return new Version(0, 0);
        }
    });

    public static Version Current => s_current.Value;
}
