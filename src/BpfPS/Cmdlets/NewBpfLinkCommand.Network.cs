using BpfPS.Core.Links;

namespace BpfPS.Cmdlets;

// The network attach parameter sets (XDP, tcx, tc, cgroup, sockops, sk_lookup, sockmap, netfilter, socket filters).
// Every such parameter set's name starts with "Network"; ProcessRecord sends them here.
public sealed partial class NewBpfLinkCommand
{
    private partial BpfLink AttachNetwork() =>
        throw new NotSupportedException("Network attach points are not available in this build of BpfPS.");
}
