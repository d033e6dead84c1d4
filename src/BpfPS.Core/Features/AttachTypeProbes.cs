namespace BpfPS.Core.Features;

/// <summary>
/// The program types whose expected attach type the kernel checks at load time (bpf_prog_load_check_attach): loading
/// one with a given attach type succeeds exactly when the kernel supports that hook for it. Attach types are taken
/// from the kernel's own enum bpf_attach_type, so hooks newer than this library are probed by name.
/// </summary>
internal static class AttachTypeProbes
{
    /// <summary>Which program type each attach-type name prefix belongs to (uapi names, lower case).</summary>
    private static readonly (string Prefix, uint ProgramType)[] Families =
    [
        ("cgroup_inet_ingress", ProgramProbes.CgroupSkb), ("cgroup_inet_egress", ProgramProbes.CgroupSkb),
        ("cgroup_inet_sock_create", ProgramProbes.CgroupSock), ("cgroup_inet_sock_release", ProgramProbes.CgroupSock),
        ("cgroup_inet4_post_bind", ProgramProbes.CgroupSock), ("cgroup_inet6_post_bind", ProgramProbes.CgroupSock),
        ("cgroup_inet4_", ProgramProbes.CgroupSockAddr), ("cgroup_inet6_", ProgramProbes.CgroupSockAddr),
        ("cgroup_udp4_", ProgramProbes.CgroupSockAddr), ("cgroup_udp6_", ProgramProbes.CgroupSockAddr),
        ("cgroup_unix_", ProgramProbes.CgroupSockAddr),
        ("cgroup_getsockopt", ProgramProbes.CgroupSockopt), ("cgroup_setsockopt", ProgramProbes.CgroupSockopt),
        ("sk_reuseport_", ProgramProbes.SkReuseport),
        ("sk_lookup", ProgramProbes.SkLookup),
        ("netfilter", ProgramProbes.Netfilter),
    ];

    internal static IEnumerable<(uint ProgramType, uint AttachType)> Pairs(UapiNames names)
    {
        foreach (var (attach, name) in names.AttachTypes.OrderBy(p => p.Key))
            foreach (var (prefix, programType) in Families)
                if (name.StartsWith(prefix, StringComparison.Ordinal))
                {
                    yield return (programType, (uint)attach);
                    break;
                }
    }
}
