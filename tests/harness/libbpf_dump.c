// libbpf_dump: loads a BPF object with libbpf (1.1) and prints the instructions libbpf sent to the kernel, so tests can
// compare BpfPS's linking and relocation with libbpf's, instruction for instruction.
//
// Usage: libbpf_dump [-v] OBJECT.o [PROGRAM...]
//   Without PROGRAM names the whole object is loaded at once (as an application would) and every program libbpf loads
//   by default is dumped. If that load fails, or with PROGRAM names, each program is loaded on its own: the object is opened afresh,
//   autoload is turned off for every other program, and bpf_object__load() runs, so a program the kernel refuses
//   (fentry/lsm on some kernels, a verifier reject) does not hide the others. (A prog array initialised with another
//   program only loads in the whole-object mode.) -v sends libbpf's debug output to stderr.
//
// Output (stdout), line based, fields separated by one space:
//   object <path>
//   prog <name> <section>          start of one program's block
//   map <fd> <name>                every map of that load: its fd in this process and its name, where internal maps
//                                  (global data, .kconfig) are named by their ELF section (".rodata", ".data.custom",
//                                  ".kconfig") rather than libbpf's "<object>.rodata" kernel name
//   insn <16 hex digits>           one 8-byte instruction slot as in memory (struct bpf_insn, little-endian), in order,
//                                  from bpf_program__insns() after load: the final instructions sent to BPF_PROG_LOAD
//   end <name>                     end of a loaded program's block
//   skip <name>                    whole-object mode: a program libbpf did not load because its autoload is off
//                                  (SEC("?...")); it is neither dumped nor loaded on its own
//   fail <name> <errno>            this program could not be opened or loaded (libbpf error, negative errno)
//
// Usage: libbpf_dump --info OBJECT.o
//   What libbpf makes of the object when it opens it (no program is loaded, except that the object's BTF is then loaded
//   through bpf_object__load() to get libbpf's final BTF fix-ups; that load may fail and is not reported):
//   progdef <name> <section> <prog type> <expected attach type>
//   mapdef <name> <type> <key size> <value size> <max entries> <flags> <numa node> <map extra> <btf key id> <btf value id> <inner map name or ->
//   mapdata <name> <hex>           initial value of an internal map (global data), as libbpf will write it
//   btf <hex>                      the object's BTF after libbpf's fix-ups (what BPF_BTF_LOAD got)
//
// Usage: libbpf_dump --log OBJECT.o PROGRAM
//   Loads one program with verifier log level 2 (every instruction the verifier walks, printed by the kernel's own
//   disassembler) and prints its block as above, then the log:
//   log <line>                     one line of the verifier log (printed even when the load fails)
// Exit code: 0 when every requested program was dumped or reported, 2 on usage error, 1 when the object can't be opened.
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static int verbose;

static int print_libbpf(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbose && level == LIBBPF_DEBUG)
		return 0;
	if (!verbose && level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

// The ELF section an internal map came from: its BTF value type is the DATASEC of that name; without BTF (e.g.
// .rodata.str1.1) libbpf's name is "<object prefix><section>", and object prefixes hold no '.'.
static const char *section_name_of(struct bpf_object *obj, const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);
	if (!bpf_map__is_internal(map))
		return name;
	struct btf *btf = bpf_object__btf(obj);
	__u32 value_type = bpf_map__btf_value_type_id(map);
	if (btf && value_type) {
		const struct btf_type *t = btf__type_by_id(btf, value_type);
		if (t && btf_is_datasec(t))
			return btf__name_by_offset(btf, t->name_off);
	}
	const char *dot = strchr(name, '.');
	return dot ? dot : name;
}

// Maps declared with pinning by name get pinned under /sys/fs/bpf by libbpf's load: remove those pins again.
static void close_and_unpin(struct bpf_object *obj)
{
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		if (bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	bpf_object__close(obj);
}

static void print_loaded(struct bpf_object *obj, struct bpf_program *target)
{
	printf("prog %s %s\n", bpf_program__name(target), bpf_program__section_name(target));
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj)
		printf("map %d %s\n", bpf_map__fd(map), section_name_of(obj, map));

	const struct bpf_insn *insns = bpf_program__insns(target);
	size_t count = bpf_program__insn_cnt(target);
	for (size_t i = 0; i < count; i++) {
		const unsigned char *b = (const unsigned char *)&insns[i];
		printf("insn %02x%02x%02x%02x%02x%02x%02x%02x\n", b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]);
	}
	printf("end %s\n", bpf_program__name(target));
}

static int dump_one(const char *path, const char *wanted)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	long err = libbpf_get_error(obj);
	if (err) {
		printf("fail %s %ld\n", wanted, err);
		return 0;
	}
	struct bpf_program *prog, *target = NULL;
	bpf_object__for_each_program(prog, obj) {
		int mine = strcmp(bpf_program__name(prog), wanted) == 0;
		bpf_program__set_autoload(prog, mine);
		if (mine)
			target = prog;
	}
	if (!target) {
		printf("fail %s %d\n", wanted, -ENOENT);
		bpf_object__close(obj);
		return 0;
	}
	err = bpf_object__load(obj);
	if (err) {
		printf("fail %s %ld\n", wanted, err);
		close_and_unpin(obj);
		return 0;
	}

	print_loaded(obj, target);
	close_and_unpin(obj);
	return 0;
}

// Tries the whole object in one load; returns 0 and prints every program when that works.
static int dump_all_at_once(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (libbpf_get_error(obj))
		return -1;
	if (bpf_object__load(obj)) {
		close_and_unpin(obj);
		return -1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__autoload(prog))
			print_loaded(obj, prog);
		else
			printf("skip %s\n", bpf_program__name(prog));
	}
	close_and_unpin(obj);
	return 0;
}

static void print_hex(const void *data, size_t size)
{
	const unsigned char *b = data;
	for (size_t i = 0; i < size; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static int dump_info(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	long err = libbpf_get_error(obj);
	if (err) {
		fprintf(stderr, "%s: cannot open: %ld\n", path, err);
		return 1;
	}
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
		printf("progdef %s %s %u %u\n", bpf_program__name(prog), bpf_program__section_name(prog),
		       bpf_program__type(prog), bpf_program__expected_attach_type(prog));
	struct bpf_map *map;
	bpf_object__for_each_map(map, obj) {
		struct bpf_map *inner = bpf_map__inner_map(map);
		printf("mapdef %s %u %u %u %u %u %u %llu %u %u %s\n", section_name_of(obj, map), bpf_map__type(map),
		       bpf_map__key_size(map), bpf_map__value_size(map), bpf_map__max_entries(map), bpf_map__map_flags(map),
		       bpf_map__numa_node(map), (unsigned long long)bpf_map__map_extra(map), bpf_map__btf_key_type_id(map),
		       bpf_map__btf_value_type_id(map), inner ? bpf_map__name(inner) : "-");
		size_t size = 0;
		const void *data = bpf_map__is_internal(map) ? bpf_map__initial_value(map, &size) : NULL;
		if (data && strcmp(section_name_of(obj, map), ".kconfig") != 0) {
			printf("mapdata %s ", section_name_of(obj, map));
			print_hex(data, size);
		}
	}
	// Loading applies the last BTF fix-ups (hidden global functions made static) before BPF_BTF_LOAD.
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, false);
	bpf_object__load(obj);
	struct btf *btf = bpf_object__btf(obj);
	if (btf) {
		__u32 size = 0;
		const void *raw = btf__raw_data(btf, &size);
		printf("btf ");
		print_hex(raw, size);
	}
	close_and_unpin(obj);
	return 0;
}

static int dump_with_log(const char *path, const char *wanted)
{
	static char log[16 * 1024 * 1024];
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	long err = libbpf_get_error(obj);
	if (err) {
		printf("fail %s %ld\n", wanted, err);
		return 1;
	}
	struct bpf_program *prog, *target = NULL;
	bpf_object__for_each_program(prog, obj) {
		int mine = strcmp(bpf_program__name(prog), wanted) == 0;
		bpf_program__set_autoload(prog, mine);
		if (mine)
			target = prog;
	}
	if (!target) {
		printf("fail %s %d\n", wanted, -ENOENT);
		bpf_object__close(obj);
		return 1;
	}
	log[0] = '\0';
	bpf_program__set_log_level(target, 2);
	bpf_program__set_log_buf(target, log, sizeof(log));
	err = bpf_object__load(obj);
	if (err)
		printf("fail %s %ld\n", wanted, err);
	else
		print_loaded(obj, target);
	for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
		printf("log %s\n", line);
	close_and_unpin(obj);
	return 0;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		verbose = 1;
		first = 2;
	}
	if (argc == 4 && strcmp(argv[1], "--log") == 0) {
		libbpf_set_print(print_libbpf);
		return dump_with_log(argv[2], argv[3]);
	}
	if (argc == 3 && strcmp(argv[1], "--info") == 0) {
		libbpf_set_print(print_libbpf);
		return dump_info(argv[2]);
	}
	if (argc <= first) {
		fprintf(stderr, "usage: %s [-v] OBJECT.o [PROGRAM...]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(print_libbpf);
	const char *path = argv[first];
	printf("object %s\n", path);

	if (argc > first + 1) {
		for (int i = first + 1; i < argc; i++)
			dump_one(path, argv[i]);
		return 0;
	}

	if (dump_all_at_once(path) == 0)
		return 0;

	// The whole object does not load: list its programs, then dump each on its own.
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	long err = libbpf_get_error(obj);
	if (err) {
		fprintf(stderr, "%s: cannot open: %ld\n", path, err);
		return 1;
	}
	size_t n = 0;
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj)
		n++;
	char **names = calloc(n ? n : 1, sizeof(char *));
	size_t i = 0;
	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__autoload(prog))
			names[i++] = strdup(bpf_program__name(prog));
		else
			printf("skip %s\n", bpf_program__name(prog));
	}
	n = i;
	bpf_object__close(obj);
	for (i = 0; i < n; i++) {
		dump_one(path, names[i]);
		free(names[i]);
	}
	free(names);
	fflush(stdout);
	return 0;
}
