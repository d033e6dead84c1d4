using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Fuzz;

/// <summary>
/// bpfps-fuzz run [--minutes N] [--target NAME] [--seeds DIR] [--findings DIR] [--seed N]
///     fuzzes each target (or one) in process for N minutes in all, seeded with the objects in DIR.
/// bpfps-fuzz replay FILE...   runs saved inputs (TARGET-KIND-HASH.bin) and prints what each does.
/// bpfps-fuzz seeds --out DIR  writes each target's seed inputs (for AFL's -i).
/// bpfps-fuzz afl --target NAME   the SharpFuzz entry point: one input per fork from AFL++ (see docs/reliability.md).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 0) return Usage();
        var options = Options.Parse(args[1..]);
        return args[0] switch
        {
            "run" => Commands.Run(options),
            "replay" => Commands.Replay(options.Positional),
            "seeds" => Commands.WriteSeeds(options),
            "afl" => Commands.Afl(options),
            _ => Usage(),
        };
    }

    private static int Usage()
    {
        Console.Error.WriteLine("usage: bpfps-fuzz run [--minutes N] [--target NAME] [--seeds DIR] [--findings DIR] [--seed N]");
        Console.Error.WriteLine("       bpfps-fuzz replay FILE...");
        Console.Error.WriteLine("       bpfps-fuzz seeds --out DIR [--seeds DIR]");
        Console.Error.WriteLine("       bpfps-fuzz afl --target NAME");
        Console.Error.WriteLine("targets: " + string.Join(", ", FuzzTargets.All.Select(t => t.Name)));
        return 2;
    }
}
