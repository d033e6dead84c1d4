using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Links;

/// <summary>perf_event programs on software events (cpu-clock...), sampled at a frequency, one attachment per CPU.</summary>
public static class PerfEventLinks
{
    /// <summary>
    /// Attaches a perf_event program to <paramref name="softwareEvent"/> on every online CPU, sampled
    /// <paramref name="frequency"/> times a second. All or nothing: on failure nothing stays attached.
    /// </summary>
    /// <exception cref="LinkAttachException">Wrong program type, or the kernel refused.</exception>
    public static IReadOnlyList<BpfLink> AttachSoftware(LoadedProgram program, PerfSoftwareEvent softwareEvent, ulong frequency)
    {
        ArgumentNullException.ThrowIfNull(program);
        var name = BpfLinkNames.PerfSoftwareEventName(softwareEvent);
        if (program.Type != BpfProgramType.PerfEvent)
            throw new LinkAttachException(program.Name, $"perf event {name}", $"a {program.Type} program cannot attach to a perf event (it needs SEC(\"perf_event\"))");
        if (frequency == 0) throw new LinkAttachException(program.Name, $"perf event {name}", "the sampling frequency must be at least 1 Hz");
        var links = new List<BpfLink>();
        try
        {
            foreach (var cpu in OnlineCpus())
            {
                var target = $"perf event {name} at {frequency} Hz on cpu {cpu}";
                BpfFd perfEvent;
                try
                {
                    perfEvent = PerfEvents.OpenSoftware(softwareEvent, frequency, cpu);
                }
                catch (PerfEventException e)
                {
                    throw new LinkAttachException(program.Name, target, e.Message, e.ErrorNumber, e);
                }
                links.Add(PerfEvents.Attach(program, perfEvent, target));
            }
        }
        catch
        {
            foreach (var link in links) link.Dispose();
            throw;
        }
        return links;
    }

    /// <summary>The online CPUs (/sys/devices/system/cpu/online, e.g. "0-3,6").</summary>
    public static IReadOnlyList<int> OnlineCpus()
    {
        var text = File.ReadAllText("/sys/devices/system/cpu/online").Trim();
        var cpus = new List<int>();
        foreach (var range in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var ends = range.Split('-');
            int first = int.Parse(ends[0], System.Globalization.CultureInfo.InvariantCulture);
            int last = ends.Length > 1 ? int.Parse(ends[1], System.Globalization.CultureInfo.InvariantCulture) : first;
            for (int cpu = first; cpu <= last; cpu++) cpus.Add(cpu);
        }
        return cpus;
    }
}
