// SPDX-License-Identifier: (GPL-2.0-only OR MIT)
// The example object that `build.ps1 demo` loads: an XDP program that counts every packet it sees, in total and by
// EtherType. The demo runs it on a test packet (BPF_PROG_TEST_RUN) and shows the maps change.
// Rebuild with:  dotnet pwsh ./build.ps1 examples   (the .o is committed so the demo runs without clang)
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// A load-time constant (lives in .rodata, frozen after load): Import-BpfCollection -Constant @{ verdict = 1 } drops.
volatile const __u32 verdict = XDP_PASS;

// Packets seen since load, in slot 0.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} packets SEC(".maps");

// Packets per EtherType (host byte order), e.g. 0x0800 for IPv4.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u64);
} by_ethertype SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 slot = 0;
	__u64 one = 1;

	__u64 *total = bpf_map_lookup_elem(&packets, &slot);
	if (total)
		__sync_fetch_and_add(total, 1);

	if ((void *)(eth + 1) > data_end)
		return verdict;

	__u16 ethertype = bpf_ntohs(eth->h_proto);
	__u64 *count = bpf_map_lookup_elem(&by_ethertype, &ethertype);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&by_ethertype, &ethertype, &one, BPF_NOEXIST);
	return verdict;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
