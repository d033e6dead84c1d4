// Reports every program started on the machine: pid, parent pid, command and file name, through a ring buffer.
// Attached to the sched:sched_process_exec tracepoint; Receive-BpfEvent -Type event decodes the records.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define FILENAME_LEN 256

struct event {
	__u32 pid;
	__u32 ppid;
	__u64 ts;             /* bpf_ktime_get_ns: Receive-BpfEvent -TimeField ts */
	char comm[16];
	char filename[FILENAME_LEN];
};

/* Names the record type in the object's BTF, so readers can decode it by name. */
const struct event *unused_event __attribute__((unused));

/* The tracepoint's record, as /sys/kernel/tracing/events/sched/sched_process_exec/format lays it out. */
struct sched_process_exec_args {
	__u64 common;                 /* common_type, flags, preempt count, pid */
	__u32 filename_loc;           /* __data_loc: offset in the low 16 bits, length in the high 16 */
	__s32 pid;
	__s32 old_pid;
};

/* Only the fields read here; CO-RE finds them in the running kernel's task_struct. */
struct task_struct {
	struct task_struct *real_parent;
	__s32 tgid;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int handle_exec(struct sched_process_exec_args *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	e->pid = ctx->pid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	unsigned int offset = ctx->filename_loc & 0xffff;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), (void *)ctx + offset);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
