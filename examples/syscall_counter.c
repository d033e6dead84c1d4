// Counts every system call on the machine by number: attached where its section says (the raw_syscalls/sys_enter
// tracepoint), it adds 1 to syscalls[id] on each call. Read the map to see what the system is doing.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);   // system call number
    __type(value, __u64); // calls since attach
} syscalls SEC(".maps");

// The tracepoint's record (see /sys/kernel/tracing/events/raw_syscalls/sys_enter/format).
struct sys_enter_record {
    __u64 common;
    long id;
    unsigned long args[6];
};

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscalls(struct sys_enter_record *ctx)
{
    __u32 id = (__u32)ctx->id;
    __u64 one = 1, *count = bpf_map_lookup_elem(&syscalls, &id);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bpf_map_update_elem(&syscalls, &id, &one, BPF_NOEXIST);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
