namespace BpfPS;
// Replaced by the cmdlets.
internal static class Placeholder { }
