namespace BpfPS.Core.CoRe;

/// <summary>
/// A relocation that cannot be applied (libbpf's error returns, as opposed to a poisoned instruction). Internal: the
/// relocator catches it and throws a <see cref="BpfFormatException"/> that names the relocation.
/// </summary>
internal sealed class CoreRelocationException(string message) : Exception(message);
