// libbpf side of the event benchmark (`build.ps1 bench`): drains a ring buffer pre-filled with 64-byte records with
#define _GNU_SOURCE
// ring_buffer__consume, timed in the same run as BpfPS's reader so the figures are a ratio.
//   bench_events ringbuf <events_bench.o> <records> <rounds>
// Output: one line per round, "records ns cpu_ns" (cpu_ns: this thread's CPU time while draining). The caller takes a
// round after the ring's pages have all been touched once (the first two), as the BpfPS side is measured warm too.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

static long long records, bytes;

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* CLOCK_THREAD_CPUTIME_ID: exact to the nanosecond, unlike getrusage's tick-sampled split (a 4 ms drain can read 0). */
static long long thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The same work as the BpfPS side's handler: count the record and its length. */
static int on_record(void *ctx, void *data, size_t size)
{
    records++;
    bytes += size;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[1], "ringbuf") != 0) {
        fprintf(stderr, "usage: %s ringbuf <object.o> <records> <rounds>\n", argv[0]);
        return 2;
    }
    unsigned int count = (unsigned int)atoi(argv[3]);
    int rounds = atoi(argv[4]);
    libbpf_set_print(NULL);
    struct bpf_object *obj = bpf_object__open_file(argv[2], NULL);
    if (!obj || bpf_object__load(obj)) {
        fprintf(stderr, "cannot load %s\n", argv[2]);
        return 1;
    }
    int fill = bpf_program__fd(bpf_object__find_program_by_name(obj, "fill"));
    int ring = bpf_object__find_map_fd_by_name(obj, "fill_ring");
    struct ring_buffer *rb = ring_buffer__new(ring, on_record, NULL, NULL);
    if (fill < 0 || ring < 0 || !rb) {
        fprintf(stderr, "object lacks fill/fill_ring\n");
        return 1;
    }
    unsigned char packet[64] = {0};
    for (int round = 0; round < rounds; round++) {
        LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = sizeof(packet), .repeat = count);
        if (bpf_prog_test_run_opts(fill, &opts)) {
            fprintf(stderr, "test run failed\n");
            return 1;
        }
        records = 0;
        long long cpu = thread_cpu_ns(), start = now_ns();
        ring_buffer__consume(rb);
        long long spent = now_ns() - start;
        printf("%lld %lld %lld\n", records, spent, thread_cpu_ns() - cpu);
        fflush(stdout);
    }
    ring_buffer__free(rb);
    bpf_object__close(obj);
    return 0;
}
