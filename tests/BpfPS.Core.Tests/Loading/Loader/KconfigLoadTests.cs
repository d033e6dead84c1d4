using System.Buffers.Binary;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.LoadEquivalence;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>externs.c's read_externs copies its __kconfig values into the "seen" map; compare with independent sources.</summary>
public class KconfigLoadTests
{
    private static ulong Seen(Collection c, uint slot) => BinaryPrimitives.ReadUInt64LittleEndian(c.Maps["seen"].Lookup(BitConverter.GetBytes(slot))!);

    private static Collection LoadReadExterns(CollectionOptions? options = null)
    {
        var spec = LoaderTestSupport.Spec("externs");
        var collection = Collection.Load(EquivalenceSpecs.WithPrograms(spec, ["read_externs"]), options);
        collection.Programs["read_externs"].TestRun(default, context: new byte[16], repeat: 0); // raw_tp: u64 args as context, no repeat
        return collection;
    }

    [SkippableFact]
    public void ValuesComeFromTheRunningKernelsConfig()
    {
        Skip.IfNot(File.Exists("/proc/config.gz"), "/proc/config.gz is absent");
        var (code, output) = KernelTestSupport.Run("sh", "-c \"zcat /proc/config.gz | grep -E '^CONFIG_(HZ|BPF_SYSCALL|BPF_JIT)='\"");
        Assert.Equal(0, code);
        var config = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(l => l[..l.IndexOf('=')], l => l[(l.IndexOf('=') + 1)..]);
        var (unameCode, release) = KernelTestSupport.Run("uname", "-r");
        Assert.Equal(0, unameCode);
        var parts = release.Trim().Split('.', '-');
        ulong version = (ulong.Parse(parts[0]) << 16) + (ulong.Parse(parts[1]) << 8) + Math.Min(ulong.Parse(parts[2]), 255);

        using var collection = LoadReadExterns();
        Assert.Equal(version, Seen(collection, 0));                               // LINUX_KERNEL_VERSION
        Assert.Equal(ulong.Parse(config["CONFIG_HZ"]), Seen(collection, 1));
        Assert.Equal(config["CONFIG_BPF_SYSCALL"] == "y" ? 1UL : 0UL, Seen(collection, 2));
        Assert.Equal(config.GetValueOrDefault("CONFIG_BPF_JIT") == "y" ? 1UL : 0UL, Seen(collection, 3));
        Assert.Equal(0UL, Seen(collection, 5));                                   // weak, absent: zero
    }

    [SkippableFact]
    public void AnOverriddenConfigIsUsedInstead()
    {
        var config = new Dictionary<string, string>
        {
            ["CONFIG_HZ"] = "123", ["CONFIG_BPF_SYSCALL"] = "n", ["CONFIG_BPF_JIT"] = "m", ["CONFIG_LOCALVERSION"] = "\"-custom\"",
            ["CONFIG_BPFPS_DOES_NOT_EXIST"] = "0x77",
        };
        using var collection = LoadReadExterns(new CollectionOptions { KernelConfig = config });
        Assert.Equal(123UL, Seen(collection, 1));
        Assert.Equal(0UL, Seen(collection, 2));
        Assert.Equal(0UL, Seen(collection, 3));           // TRI_MODULE != TRI_YES
        Assert.Equal((ulong)'-', Seen(collection, 4));     // CONFIG_LOCALVERSION[0]
        Assert.Equal(0x77UL, Seen(collection, 5));

        var kconfig = collection.Maps[".kconfig"];
        Assert.Equal(BpfPS.Core.Kernel.Errno.EPERM,
            Assert.Throws<BpfPS.Core.Kernel.BpfSyscallException>(() => kconfig.Update(new byte[4], new byte[kconfig.ValueSize])).ErrorNumber); // frozen
    }

    [SkippableFact]
    public void MissingStrongConfigIsAnError()
    {
        var spec = LoaderTestSupport.Spec("externs");
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(EquivalenceSpecs.WithPrograms(spec, ["read_externs"]),
            new CollectionOptions { KernelConfig = new Dictionary<string, string> { ["CONFIG_HZ"] = "100" } }));
        Assert.Contains("CONFIG_", e.ObjectName);
        Assert.Equal(0, e.ErrorNumber);
    }

    [SkippableFact]
    public void KfuncCallIsResolvedToTheKernelsBtfId()
    {
        var spec = LoaderTestSupport.Spec("externs");
        using var collection = Collection.Load(EquivalenceSpecs.WithPrograms(spec, ["call_kfunc"]));
        var program = collection.Programs["call_kfunc"];
        var call = program.Instructions.Single(i => i.IsCall && i.Src == global::BpfPS.Core.Asm.BpfPseudo.KfuncCall);
        var vmlinux = BpfPS.Core.Btf.KernelBtf.GetVmlinux();
        var expected = vmlinux.FindByName("bpf_cast_to_kern_ctx").Single(id => vmlinux.GetKind(id) == BpfPS.Core.Btf.BtfKind.Func);
        Assert.Equal((int)expected, call.Immediate);
        Assert.Equal(2u, program.TestRun(new byte[64]).ReturnValue); // XDP_PASS: the kfunc returned the kernel context
    }
}
