namespace BpfPS.Core.Kernel;

/// <summary>
/// Test seam: makes chosen bpf() calls fail with a chosen errno without reaching the kernel, to prove that a failure
/// at any step of a load leaves nothing behind. Scoped per async flow (AsyncLocal), so parallel tests don't interfere.
/// </summary>
public static class BpfFaultInjection
{
    /// <summary>
    /// Decides the fate of one call: <paramref name="ordinal"/> counts calls of <paramref name="command"/> made inside the
    /// scope, starting at 1. Return an errno to fail the call, or null to let it through.
    /// </summary>
    public delegate int? Rule(BpfCommand command, int ordinal);

    private static readonly AsyncLocal<Scope?> s_current = new();

    /// <summary>Installs <paramref name="rule"/> until the returned scope is disposed (scopes nest).</summary>
    public static IDisposable Inject(Rule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var scope = new Scope(rule, s_current.Value);
        s_current.Value = scope;
        return scope;
    }

    /// <summary>Convenience: fail the <paramref name="ordinal"/>-th call of <paramref name="command"/> (and only it).</summary>
    public static IDisposable FailNth(BpfCommand command, int ordinal, int errno) =>
        Inject((c, n) => c == command && n == ordinal ? errno : null);

    /// <summary>Convenience: fail every call of <paramref name="command"/> from the <paramref name="ordinal"/>-th on.</summary>
    public static IDisposable FailFrom(BpfCommand command, int ordinal, int errno) =>
        Inject((c, n) => c == command && n >= ordinal ? errno : null);

    /// <summary>The errno to fail this call with, or null. Counts the call in the active scope.</summary>
    internal static int? Intercept(BpfCommand command)
    {
        var scope = s_current.Value;
        return scope is null ? null : scope.Decide(command);
    }

    private sealed class Scope : IDisposable
    {
        private readonly Rule _rule;
        private readonly Scope? _previous;
        private readonly int[] _counts = new int[64];
        private bool _disposed;

        public Scope(Rule rule, Scope? previous) { _rule = rule; _previous = previous; }

        public int? Decide(BpfCommand command)
        {
            if (_disposed) return null;
            // One call at a time: a collection's programs load on several threads, and rules may keep plain state.
            lock (_counts)
            {
                int ordinal = (uint)command < _counts.Length ? ++_counts[(int)command] : 0;
                return _rule(command, ordinal);
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            if (ReferenceEquals(s_current.Value, this)) s_current.Value = _previous;
        }
    }
}
