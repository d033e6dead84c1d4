using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Fuzz;

internal static class Commands
{
    /// <summary>Repository root: the folder holding BpfPS.sln above this program or the current directory.</summary>
    private static string Root()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "BpfPS.sln"))) return dir.FullName;
        return Environment.CurrentDirectory;
    }

    private static IReadOnlyList<(string, byte[])> Objects(Options o)
    {
        string dir = o.Get("seeds", Path.Combine(Root(), "build", "fixtures"));
        var objects = FuzzSeeds.ObjectsIn(dir).ToList();
        // The shipped example and cilium/ebpf's benchmark object (30 programs with CO-RE, a legacy maps section).
        foreach (var extra in new[] { Path.Combine(Root(), "examples", "packet_counter.o"), Path.Combine(Root(), "..", "shared", "bench", "cilium-manyprogs-el.elf") })
            if (File.Exists(extra)) objects.Add((Path.GetFileName(extra), File.ReadAllBytes(extra)));
        if (objects.Count == 0) throw new InvalidOperationException($"no .o files in {dir}: run ./build.ps1 fixtures first");
        return objects;
    }

    public static int Run(Options o)
    {
        double minutes = double.Parse(o.Get("minutes", "1"), System.Globalization.CultureInfo.InvariantCulture);
        var targets = o.Get("target") is { } name ? [FuzzTargets.ByName(name)] : FuzzTargets.All;
        string findings = o.Get("findings", Path.Combine(Root(), "tests", "BpfPS.Core.Tests", "Hardening", "regressions"));
        ulong seed = ulong.Parse(o.Get("seed", "1112557136"));
        var objects = Objects(o);
        int total = 0;
        foreach (var target in targets)
        {
            var seeds = FuzzSeeds.For(target, objects);
            var report = FuzzRunner.Run(target, seeds, new FuzzOptions
            {
                Seed = seed,
                Duration = TimeSpan.FromMinutes(minutes / targets.Count),
                FindingsDirectory = findings,
                MaxFindings = 50,
                InFlightPath = Path.Combine(Root(), "build", "fuzz", $"in-flight-{target.Name}.bin"),
            });
            Console.WriteLine(report);
            foreach (var f in report.Findings)
                Console.WriteLine($"  {f.Kind} at iteration {f.Iteration}: {f.SavedPath}\n    {f.Description.Split('\n')[0]}");
            total += report.Findings.Count;
        }
        Console.WriteLine(total == 0 ? "no findings" : $"{total} findings saved under {findings}");
        return total == 0 ? 0 : 1;
    }

    public static int Replay(IReadOnlyList<string> files)
    {
        int failures = 0;
        foreach (var file in files)
        {
            string name = Path.GetFileName(file);
            var target = FuzzTargets.ByName(name[..name.IndexOf('-')]);
            var finding = FuzzRunner.Replay(target, File.ReadAllBytes(file));
            Console.WriteLine(finding is null ? $"{name}: handled" : $"{name}: {finding.Kind}\n{finding.Description}");
            if (finding is not null) failures++;
        }
        return failures == 0 ? 0 : 1;
    }

    public static int WriteSeeds(Options o)
    {
        string output = o.Get("out") ?? throw new ArgumentException("--out DIR is required");
        var objects = Objects(o);
        foreach (var target in FuzzTargets.All)
        {
            string dir = Path.Combine(output, target.Name);
            Directory.CreateDirectory(dir);
            int i = 0;
            foreach (var seed in FuzzSeeds.For(target, objects))
                File.WriteAllBytes(Path.Combine(dir, $"{i++:D3}-{seed.Origin}"), FuzzInput.Encode(seed.Blobs));
            Console.WriteLine($"{target.Name}: {i} seeds in {dir}");
        }
        return 0;
    }

    public static int Afl(Options o)
    {
        var target = FuzzTargets.ByName(o.Get("target") ?? throw new ArgumentException("--target NAME is required"));
        return AflEntry.Run(target);
    }
}
