using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class BtfCHeaderWriterTests
{
    private static string Header(BtfSpec spec, string guard = "__TEST_H__")
    {
        var w = new StringWriter();
        BtfCHeaderWriter.Write(spec, w, guard);
        return w.ToString();
    }

    private static string? Clang => BtfTools.Find("clang-14", "clang");

    /// <summary>Compiles <paramref name="source"/> next to a header; returns clang's diagnostics (empty when clean).</summary>
    private static (int Code, string Diagnostics) Compile(string header, string source, params string[] flags)
    {
        var dir = Directory.CreateTempSubdirectory("bpfps-hdr-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "vmlinux.h"), header);
            File.WriteAllText(Path.Combine(dir.FullName, "test.c"), source);
            var (code, _, err) = BtfTools.Run(Clang!, [.. flags, "-target", "bpf", "-Wall", "-I", dir.FullName, Path.Combine(dir.FullName, "test.c"), "-o", Path.Combine(dir.FullName, "test.o")]);
            return (code, err);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void WritesDependenciesFirstAndForwardDeclaresCycles()
    {
        var spec = SampleSpec();
        string h = Header(spec);

        Assert.StartsWith("#ifndef __TEST_H__\n#define __TEST_H__\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n" +
            "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n", h);
        Assert.EndsWith("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* __TEST_H__ */\n", h);
        Assert.True(h.IndexOf("struct inner {", StringComparison.Ordinal) < h.IndexOf("struct outer {", StringComparison.Ordinal));
        Assert.True(h.IndexOf("struct outer;", StringComparison.Ordinal) < h.IndexOf("struct inner {", StringComparison.Ordinal));
        Assert.Contains("typedef struct node node_t;", h);
        Assert.True(h.IndexOf("typedef struct node node_t;", StringComparison.Ordinal) < h.IndexOf("struct node {", StringComparison.Ordinal));
        Assert.Contains("struct never_defined;", h);
        Assert.Contains("typedef int (*callback_t)(struct never_defined *);", h);
        Assert.Equal(1, Occurrences(h, "struct inner {"));
        Assert.Equal(1, Occurrences(h, "struct outer;"));
    }

    private static int Occurrences(string text, string what)
    {
        int n = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
            n++;
        return n;
    }

    /// <summary>
    /// outer embeds inner (later in id order) and points at itself; inner points back at outer; node_t is a typedef of
    /// a struct that points to node_t; a callback takes a struct that is only ever forward-declared; two structs named
    /// dup; two enums with an enumerator X; an anonymous enum nobody uses and one a struct uses; a func, var, datasec,
    /// decl tag and __builtin_va_list that must not be written.
    /// </summary>
    private static BtfSpec SampleSpec()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint ch = b.Int("char", 1);
        uint outerPtr = b.Ptr(4);
        uint outer = b.Struct("outer", 32, ("in", 6, 0, 0), ("n", i32, 128, 0), ("self", outerPtr, 192, 0));
        uint inner = b.Struct("inner", 16, ("back", b.Ptr(outer), 0, 0), ("c", ch, 64, 0));
        uint nodeTd = b.Typedef("node_t", 9);
        uint node = b.Struct("node", 16, ("next", b.Ptr(nodeTd), 0, 0), ("v", i32, 64, 0));
        Assert.Equal((4u, 6u, 9u), (outer, inner, node));
        uint never = b.Fwd("never_defined");
        uint callback = b.Typedef("callback_t", b.Ptr(b.FuncProto(i32, ("", b.Ptr(never)))));
        uint dup1 = b.Struct("dup", 4, ("a", i32, 0, 0));
        uint dup2 = b.Struct("dup", 8, ("a", i32, 0, 0), ("b", i32, 32, 0));
        uint e1 = b.Enum("first", 4, false, ("X", 1), ("Y", 2));
        uint e2 = b.Enum("second", 4, false, ("X", 3));
        uint anonUnused = b.Enum("", 4, false, ("ANON_CONSTANT", 7));
        uint anonUsed = b.Enum("", 4, false, ("INLINE_ONLY", 8));
        uint user = b.Struct("user", 16, ("kind", anonUsed, 0, 0), ("d1", b.Ptr(dup1), 64, 0));
        uint proto = b.FuncProto(0);
        uint fn = b.Func("some_function", proto);
        uint v = b.Var("some_variable", i32);
        b.Datasec(".data", 4, (v, 0, 4));
        b.DeclTag("some_tag", fn, -1);
        uint vaTag = b.Struct("__va_list_tag", 24, ("gp_offset", i32, 0, 0));
        b.Typedef("__builtin_va_list", b.Array(vaTag, i32, 1));
        _ = (node, callback, dup2, e1, e2, anonUnused, user, inner);
        return b.Parse();
    }

    [Fact]
    public void RenamesClashesAndSkipsWhatBpftoolSkips()
    {
        string h = Header(SampleSpec());
        Assert.Contains("struct dup {", h);
        Assert.Contains("struct dup___2 {", h);
        Assert.Contains("\tX = 1,", h);
        Assert.Contains("\tX___2 = 3,", h);
        Assert.Contains("enum {\n\tANON_CONSTANT = 7,\n};", h);
        Assert.Equal(1, Occurrences(h, "INLINE_ONLY"));
        Assert.Contains("\tenum {\n\t\tINLINE_ONLY = 8,\n\t} kind;", h);
        Assert.DoesNotContain("some_function", h);
        Assert.DoesNotContain("some_variable", h);
        Assert.DoesNotContain(".data", h);
        Assert.DoesNotContain("some_tag", h);
        Assert.DoesNotContain("typedef struct __va_list_tag __builtin_va_list", h);
        Assert.Contains("struct __va_list_tag {", h);
    }

    [SkippableFact]
    public void SampleHeaderCompilesWithTheRecordedLayout()
    {
        Skip.If(Clang is null, "clang is not installed");
        var spec = SampleSpec();
        var checks = new StringBuilder("#include \"vmlinux.h\"\n");
        foreach (var (name, size) in new[] { ("outer", 32), ("inner", 16), ("node", 16), ("dup", 4), ("dup___2", 8), ("user", 16) })
            checks.Append($"_Static_assert(sizeof(struct {name}) == {size}, \"{name}\");\n");
        checks.Append("_Static_assert(__builtin_offsetof(struct outer, self) == 24, \"self\");\n");
        checks.Append("_Static_assert(__builtin_offsetof(struct outer, n) == 16, \"n\");\n");
        checks.Append("int use(struct outer *o, callback_t cb) { return o->in.back->n + cb(0) + ANON_CONSTANT + X___2; }\n");
        var (code, diagnostics) = Compile(Header(spec), checks.ToString(), "-c", "-O2");
        Assert.True(code == 0 && diagnostics.Length == 0, diagnostics);
    }

    [SkippableFact]
    public void VmlinuxHeaderLayoutMatchesBtf()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        Skip.If(Clang is null, "clang is not installed");
        var spec = BtfSpec.LoadFile(KernelBtf.VmlinuxPath);
        string header = Header(spec, "__VMLINUX_H__");
        var unique = UniqueTags(spec);

        // Every struct and union of a name used once: its size and every named member's offset, as clang lays it out.
        var asserts = new StringBuilder("#include \"vmlinux.h\"\n");
        int count = 0;
        foreach (var c in spec.Types.OfType<BtfComposite>().Where(c => unique.Contains(c.Name) && !EmbedsVaList(spec, c)))
        {
            string tag = $"{(c.IsUnion ? "union" : "struct")} {c.Name}";
            asserts.Append($"_Static_assert(sizeof({tag}) == {c.ByteSize}, \"{c.Name}\");\n");
            foreach (var m in c.Members.Where(m => m.BitfieldSize == 0 && m.Name.Length > 0))
                asserts.Append($"_Static_assert(__builtin_offsetof({tag}, {m.Name}) == {m.BitOffset / 8}, \"{c.Name}.{m.Name}\");\n");
            count++;
        }
        Assert.True(count > 5000, $"only {count} structs checked");
        var (code, diagnostics) = Compile(header, asserts.ToString(), "-fsyntax-only");
        Assert.True(code == 0 && diagnostics.Length == 0, diagnostics[..Math.Min(4000, diagnostics.Length)]);
    }

    [SkippableFact]
    public void VmlinuxHeaderBitfieldsMatchBtf()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        Skip.If(Clang is null, "clang is not installed");
        var spec = BtfSpec.LoadFile(KernelBtf.VmlinuxPath);
        var unique = UniqueTags(spec);
        var withBitfields = spec.Types.OfType<BtfComposite>()
            .Where(c => unique.Contains(c.Name) && c.Members.Any(m => m.BitfieldSize != 0)).ToList();

        // offsetof cannot see bitfields, but clang's own BTF of the compiled header can: declare one of each and compare.
        var source = new StringBuilder("#include \"vmlinux.h\"\n");
        foreach (var c in withBitfields)
            source.Append($"{(c.IsUnion ? "union" : "struct")} {c.Name} v_{c.Id};\n");
        var dir = Directory.CreateTempSubdirectory("bpfps-bitfields-");
        try
        {
            File.WriteAllText(Path.Combine(dir.FullName, "vmlinux.h"), Header(spec, "__VMLINUX_H__"));
            File.WriteAllText(Path.Combine(dir.FullName, "test.c"), source.ToString());
            string obj = Path.Combine(dir.FullName, "test.o");
            var (code, _, err) = BtfTools.Run(Clang!, "-target", "bpf", "-g", "-O0", "-c", Path.Combine(dir.FullName, "test.c"), "-o", obj);
            Assert.True(code == 0, err);
            var compiled = KernelBtf.LoadFromFile(obj);
            var mismatches = new List<string>();
            foreach (var c in withBitfields)
            {
                var mine = compiled.FindByName(c.Name).Select(compiled.GetType).OfType<BtfComposite>().Single();
                string expected = string.Join(",", c.Members.Select(m => $"{m.Name}@{m.BitOffset}:{m.BitfieldSize}"));
                string actual = string.Join(",", mine.Members.Select(m => $"{m.Name}@{m.BitOffset}:{m.BitfieldSize}"));
                if (expected != actual || c.ByteSize != mine.ByteSize)
                    mismatches.Add($"{c.Name}: {c.ByteSize} {expected} / {mine.ByteSize} {actual}");
            }
            Assert.True(withBitfields.Count > 100);
            Assert.Empty(mismatches);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static HashSet<string> UniqueTags(BtfSpec spec) =>
        spec.Types.Where(t => t is BtfComposite or BtfEnum { Values.Length: > 0 } && t.Name.Length > 0)
            .GroupBy(t => t.Name).Where(g => g.Count() == 1).Select(g => g.Key).ToHashSet();

    /// <summary>__builtin_va_list is the compiler's (8 bytes for BPF, 24 in x86-64 BTF): bpftool's header has the same gap.</summary>
    private static bool EmbedsVaList(BtfSpec spec, BtfComposite c) =>
        c.Members.Any(m => spec.GetType(spec.SkipModsAndTypedefs(m.TypeId)) is BtfArray a
            && spec.GetName(spec.SkipModsAndTypedefs(a.ElementTypeId)) == "__va_list_tag");

    [SkippableFact]
    public void CoReProgramBuiltOnTheVmlinuxHeaderLoads()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        Skip.If(Clang is null, "clang is not installed");
        Skip.If(BtfTools.Bpftool is null, "bpftool is not installed");
        Skip.IfNot(File.Exists("/usr/include/bpf/bpf_helpers.h"), "libbpf headers (libbpf-dev) are not installed");
        Skip.IfNot(BtfTools.IsRoot, "loading a program needs root");

        var dir = Directory.CreateTempSubdirectory("bpfps-core-");
        string pin = $"/sys/fs/bpf/bpfps_btf_header_{Environment.ProcessId}";
        try
        {
            using (var w = new StreamWriter(Path.Combine(dir.FullName, "vmlinux.h")))
                BtfCHeaderWriter.Write(KernelBtf.GetVmlinux(), w);
            File.WriteAllText(Path.Combine(dir.FullName, "prog.c"), """
                #include "vmlinux.h"
                #include <bpf/bpf_helpers.h>
                #include <bpf/bpf_core_read.h>

                char LICENSE[] SEC("license") = "GPL";

                struct {
                    __uint(type, BPF_MAP_TYPE_ARRAY);
                    __uint(max_entries, 4);
                    __type(key, __u32);
                    __type(value, __u64);
                } results SEC(".maps");

                SEC("raw_tp/sys_enter")
                int probe(void *ctx)
                {
                    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
                    __u32 k0 = 0, k1 = 1, k2 = 2, k3 = 3;
                    __u64 pid = BPF_CORE_READ(task, pid);
                    __u64 tgid = BPF_CORE_READ(task, tgid);
                    __u64 ppid = BPF_CORE_READ(task, real_parent, tgid);
                    __u64 flags = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
                    bpf_map_update_elem(&results, &k0, &pid, BPF_ANY);
                    bpf_map_update_elem(&results, &k1, &tgid, BPF_ANY);
                    bpf_map_update_elem(&results, &k2, &ppid, BPF_ANY);
                    bpf_map_update_elem(&results, &k3, &flags, BPF_ANY);
                    return 0;
                }
                """);
            string obj = Path.Combine(dir.FullName, "prog.o");
            var (code, _, err) = BtfTools.Run(Clang!, "-target", "bpf", "-D__TARGET_ARCH_x86", "-O2", "-g", "-Wall", "-c",
                Path.Combine(dir.FullName, "prog.c"), "-I", dir.FullName, "-o", obj);
            Assert.True(code == 0 && err.Length == 0, err);

            if (!File.ReadAllLines("/proc/mounts").Any(l => l.Split(' ')[1] == "/sys/fs/bpf"))
                BtfTools.Run("/bin/mount", "-t", "bpf", "bpf", "/sys/fs/bpf");
            (code, _, err) = BtfTools.Run(BtfTools.Bpftool!, "prog", "load", obj, pin);
            Assert.True(code == 0, err);
            Assert.True(File.Exists(pin));
        }
        finally
        {
            File.Delete(pin);
            dir.Delete(recursive: true);
        }
    }
}
