using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.StructOps;

/// <summary>Objects that misuse struct_ops, compiled here from a few lines of C: each is a BpfFormatException naming what is wrong.</summary>
public class StructOpsParsingTests
{
    private const string Prelude = """
        #include <linux/bpf.h>
        #include <bpf/bpf_helpers.h>
        char LICENSE[] SEC("license") = "GPL";
        struct sock;
        """;

    private static string Compile(string source)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the test objects");
        var dir = Directory.CreateTempSubdirectory("bpfps-struct-ops-");
        string c = Path.Combine(dir.FullName, "t.c"), o = Path.Combine(dir.FullName, "t.o");
        File.WriteAllText(c, Prelude + source);
        var (code, _, err) = Fixtures.Run("clang-14", "-target", "bpf", "-O2", "-g", "-I/usr/include/x86_64-linux-gnu", "-c", c, "-o", o);
        Assert.True(code == 0, err);
        return o;
    }

    private static BpfFormatException Fails(string source)
    {
        string path = Compile(source);
        try
        {
            var e = Assert.Throws<BpfFormatException>(() => CollectionSpec.Load(path));
            Assert.Equal(path, e.File);
            return e;
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, true);
        }
    }

    [SkippableFact]
    public void AFunctionPointerToANonStructOpsProgramIsRefused()
    {
        var e = Fails("""
            SEC("xdp") int not_ops(void *ctx) { return 0; }
            struct tcp_congestion_ops { void (*init)(struct sock *sk); char name[16]; };
            SEC(".struct_ops") struct tcp_congestion_ops cc = { .init = (void *)not_ops, .name = "x" };
            """);
        Assert.Contains("program 'not_ops' (section 'xdp') is not a struct_ops program", e.Message);
        Assert.Equal(".rel.struct_ops", e.Section);
    }

    [SkippableFact]
    public void AnonymousAndNonStructTypesAreRefused()
    {
        var anonymous = Fails("""
            SEC(".struct_ops") struct { int a; } anon = { .a = 1 };
            """);
        Assert.Contains("struct_ops 'anon': anonymous types are not supported", anonymous.Message);

        var scalar = Fails("""
            SEC(".struct_ops") int plain = 1;
            """);
        Assert.Contains("struct_ops 'plain': int is a Int, not a struct", scalar.Message);
    }

    [SkippableFact]
    public void OneProgramForTwoDifferentMembersIsRefused()
    {
        var e = Fails("""
            SEC("struct_ops/x") void ops_x(unsigned long long *ctx) { }
            struct tcp_congestion_ops { void (*init)(struct sock *sk); void (*release)(struct sock *sk); };
            SEC(".struct_ops") struct tcp_congestion_ops cc = { .init = (void *)ops_x, .release = (void *)ops_x };
            """);
        Assert.Contains("program 'ops_x' is already member #0 of struct_ops 'cc'", e.Message);
    }
}
