using System.Diagnostics;
using System.Globalization;
using System.Text;
using BpfPS.Core.Asm;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Benchmarks;

/// <summary>
/// Where verifying programs on several threads starts to pay on this machine: batches of programs of one size
/// (straight-line socket filters, so the verifier's work is the instruction count), loaded one by one and then on as
/// many threads as CPUs, in alternating rounds. Prints the wall time of each and the speed-up by size, which is what
/// the loader's default (<see cref="CollectionOptions.ParallelMinInstructions"/>) is chosen from. Writes its section of
/// docs/performance.md.
/// </summary>
internal static class ParallelThreshold
{
    private const string Start = "<!-- parallel threshold: start -->", End = "<!-- parallel threshold: end -->";

    private static readonly int[] Sizes = [16, 64, 256, 1024, 4096, 16384, 65536];

    public static int Run(string[] args)
    {
        int rounds = Program.ArgInt(args, "--rounds", 7);
        int threads = Program.ArgInt(args, "--threads", Environment.ProcessorCount);
        var inv = CultureInfo.InvariantCulture;
        string load = File.ReadAllText("/proc/loadavg").Split(' ')[0];
        var table = new StringBuilder();
        table.AppendLine("| instructions per program | programs | one by one ms | " + threads + " threads ms | speed-up |");
        table.AppendLine("|---:|---:|---:|---:|---:|");
        Console.WriteLine($"== Parallel verification by program size ({threads} threads, {rounds} alternating rounds, median wall)");
        foreach (int size in Sizes)
        {
            // About 4M instructions per batch, at least 8 programs and at most 256.
            int count = Math.Clamp((1 << 22) / size, 8, 256);
            var program = StraightLine(size);
            var serial = new List<double>();
            var parallel = new List<double>();
            LoadBatch(program, Math.Min(count, 8), 1); // warm the path
            for (int r = 0; r < rounds; r++)
            {
                serial.Add(LoadBatch(program, count, 1));
                parallel.Add(LoadBatch(program, count, threads));
            }
            double s = Median(serial), p = Median(parallel);
            string row = string.Format(inv, "| {0:N0} | {1} | {2:F1} | {3:F1} | {4:F2}x |", size, count, s, p, s / p);
            Console.WriteLine(row);
            table.AppendLine(row);
        }

        var section = new StringBuilder();
        section.AppendLine(Start);
        section.AppendLine("### Parallel verification by program size");
        section.AppendLine();
        section.AppendLine(string.Format(inv, "Measured by `build.ps1 bench` on {0:yyyy-MM-dd HH:mm} UTC ({1} CPUs; load average {2} at the start, {3} at the end): ",
            DateTime.UtcNow, Environment.ProcessorCount, load, File.ReadAllText("/proc/loadavg").Split(' ')[0]) +
            "batches of straight-line socket filters of one size, loaded by raw BPF_PROG_LOAD calls one by one and on " + threads +
            $" threads, {rounds} alternating rounds, median wall time per batch. The loader's default verifies on every CPU only " +
            $"when two or more programs have at least {CollectionOptions.ParallelMinInstructions:N0} instructions " +
            "(`CollectionOptions.ParallelMinInstructions`): below that, threads save nothing the hand-off does not cost back.");
        section.AppendLine();
        section.Append(table);
        section.AppendLine(End);
        DocSection.Write(Path.Combine(RepoRoot.Find(), "docs", "performance.md"), Start, End, section.ToString());
        return 0;
    }

    /// <summary>r0 = 0, then r0 += 1 until the program has <paramref name="size"/> instructions, then exit.</summary>
    private static BpfInstruction[] StraightLine(int size)
    {
        var insns = new BpfInstruction[size];
        insns[0] = new BpfInstruction(0xb7, 0, 0, 0, 0);          // mov64 r0, 0
        for (int i = 1; i < size - 1; i++)
            insns[i] = new BpfInstruction(0x07, 0, 0, 0, 1);      // add64 r0, 1
        insns[size - 1] = new BpfInstruction(0x95, 0, 0, 0, 0);   // exit
        return insns;
    }

    private static double LoadBatch(BpfInstruction[] program, int count, int threads)
    {
        var request = new ProgramLoadRequest { Type = BpfProgramType.SocketFilter, Instructions = program, License = "GPL", Name = "threshold" };
        var fds = new BpfFd[count];
        int next = -1;
        var sw = Stopwatch.StartNew();
        void Worker()
        {
            for (int i; (i = Interlocked.Increment(ref next)) < count;)
                fds[i] = BpfSyscall.ProgramLoad(request).Fd;
        }
        if (threads <= 1) Worker();
        else
        {
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(Worker)).ToArray();
            foreach (var t in workers) t.Start();
            foreach (var t in workers) t.Join();
        }
        double ms = sw.Elapsed.TotalMilliseconds;
        foreach (var fd in fds) fd.Dispose();
        return ms;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
