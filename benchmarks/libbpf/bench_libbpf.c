// libbpf side of `build.ps1 bench`: the same work BpfPS does, timed in the same run so every figure is a ratio.
//   bench_libbpf load <object.o> <iterations>   open + load + close, per iteration
//   bench_libbpf btf <iterations>               btf__load_vmlinux_btf + find task_struct, per iteration
//   bench_libbpf calls <object.o> <iterations>  open + load + close, then per bpf() command: "cmd calls ns" per load
// Output: one line per iteration, "total_ns syscall_ns open_ns cpu_ns", so the caller computes median/min itself
// (cpu_ns: the thread's user + system CPU time from getrusage, which competing processes do not inflate).
// Time inside bpf() is measured by interposing syscall(): libbpf calls syscall(__NR_bpf, ...) through the PLT, and a
// definition in the executable wins symbol lookup over libc's.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <bpf/libbpf.h>
#include <bpf/btf.h>

static long long syscall_ns;
static int quiet;   /* bench_calls: run loads without printing their lines */
#define COMMANDS 64
static long long command_calls[COMMANDS], command_ns[COMMANDS];

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

long syscall(long number, ...)
{
    static long (*real)(long, ...);
    if (!real)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    va_list ap;
    va_start(ap, number);
    long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
    long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
    va_end(ap);
    if (number != __NR_bpf)
        return real(number, a, b, c, d, e, f);
    long long start = now_ns();
    long ret = real(number, a, b, c);
    long long spent = now_ns() - start;
    syscall_ns += spent;
    if (a >= 0 && a < COMMANDS) {
        command_calls[a]++;
        command_ns[a] += spent;
    }
    return ret;
}

static long long thread_cpu_ns(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_THREAD, &usage) != 0) return 0;
    return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000000000LL
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1000LL;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list args)
{
    return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

static int bench_load(const char *path, int iterations)
{
    for (int i = 0; i < iterations; i++) {
        syscall_ns = 0;
        long long cpu = thread_cpu_ns();
        long long start = now_ns();
        struct bpf_object *obj = bpf_object__open_file(path, NULL);
        if (!obj) { fprintf(stderr, "open %s failed\n", path); return 1; }
        long long opened = now_ns();
        int err = bpf_object__load(obj);
        bpf_object__close(obj);
        long long total = now_ns() - start;
        cpu = thread_cpu_ns() - cpu;
        if (err) { fprintf(stderr, "load %s failed: %d\n", path, err); return 1; }
        if (!quiet) printf("%lld %lld %lld %lld\n", total, syscall_ns, opened - start, cpu);
    }
    return 0;
}

static int bench_btf(int iterations)
{
    for (int i = 0; i < iterations; i++) {
        long long cpu = thread_cpu_ns();
        long long start = now_ns();
        struct btf *btf = btf__load_vmlinux_btf();
        if (!btf) { fprintf(stderr, "btf__load_vmlinux_btf failed\n"); return 1; }
        long long parsed = now_ns();
        int id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
        long long total = now_ns() - start;
        cpu = thread_cpu_ns() - cpu;
        btf__free(btf);
        if (id <= 0) { fprintf(stderr, "task_struct not found\n"); return 1; }
        printf("%lld 0 %lld %lld\n", total, parsed - start, cpu);
    }
    return 0;
}

/* The bpf() commands one load makes, as "command calls ns" per load (after one load that fills libbpf's feature cache). */
static int bench_calls(const char *path, int iterations)
{
    quiet = 1;
    int err = bench_load(path, 1);
    memset(command_calls, 0, sizeof(command_calls));
    memset(command_ns, 0, sizeof(command_ns));
    if (!err) err = bench_load(path, iterations);
    quiet = 0;
    if (err) return err;
    for (int i = 0; i < COMMANDS; i++)
        if (command_calls[i])
            printf("%d %.1f %.0f\n", i, (double)command_calls[i] / iterations, (double)command_ns[i] / iterations);
    return 0;
}

int main(int argc, char **argv)
{
    libbpf_set_print(silent);
    if (argc == 4 && strcmp(argv[1], "load") == 0)
        return bench_load(argv[2], atoi(argv[3]));
    if (argc == 4 && strcmp(argv[1], "calls") == 0)
        return bench_calls(argv[2], atoi(argv[3]));
    if (argc == 3 && strcmp(argv[1], "btf") == 0)
        return bench_btf(atoi(argv[2]));
    fprintf(stderr, "usage: %s load|calls <object.o> <iterations> | btf <iterations>\n", argv[0]);
    return 2;
}
