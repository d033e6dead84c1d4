using System.Runtime.CompilerServices;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>
/// Gives every spec instance a process-wide number, so a test or a user can see that two runspaces (or two calls)
/// got the very same object rather than an equal copy.
/// </summary>
internal static class SpecIdentity
{
    private sealed class Box(long value) { public readonly long Value = value; }

    private static readonly ConditionalWeakTable<BtfSpec, Box> s_ids = new();
    private static long s_next;

    public static long Of(BtfSpec spec) => s_ids.GetValue(spec, static _ => new Box(Interlocked.Increment(ref s_next))).Value;
}
