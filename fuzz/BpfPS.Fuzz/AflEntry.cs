using BpfPS.Core.Tests.Hardening.Fuzzing;
using SharpFuzz;

namespace BpfPS.Fuzz;

/// <summary>
/// AFL++ mode: SharpFuzz runs the target once per test case inside AFL's forkserver, with edge coverage from the
/// instrumented BpfPS.Core.dll. An exception the target does not document for bad input escapes, which AFL records as a
/// crash (hangs and stack overflows it sees for itself).
/// </summary>
internal static class AflEntry
{
    public static int Run(FuzzTarget target)
    {
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            try
            {
                target.RunEncoded(buffer.ToArray());
            }
            catch (Exception e) when (target.IsExpected(e))
            {
            }
        });
        return 0;
    }
}
