using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Fuzz;

/// <summary>Placeholder until the SharpFuzz entry point is wired (see docs/reliability.md).</summary>
internal static class AflEntry
{
    public static int Run(FuzzTarget target)
    {
        Console.Error.WriteLine($"AFL mode is not built in; use 'run' (target {target.Name})");
        return 2;
    }
}
