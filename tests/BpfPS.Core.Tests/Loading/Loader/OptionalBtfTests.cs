using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Elf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// When the kernel refuses an object's BTF and nothing needs it, the object loads without it (as with libbpf), with a
/// warning naming the kernel's reason; when something needs it, the load fails. The refused BTF is a fixture's own,
/// with one program's FUNC patched to extern linkage in memory: BpfPS parses that, the kernel does not accept it.
/// </summary>
public class OptionalBtfTests
{
    [SkippableFact]
    public void RefusedBtfThatNothingNeedsIsDroppedWithAWarning()
    {
        var spec = Patched("autoload", "always_on");
        RequireKernelRefuses(spec);

        using var collection = Collection.Load(spec);

        Assert.Null(collection.BtfFd);
        Assert.Equal(0u, collection.BtfId);
        var warning = Assert.Single(collection.Warnings);
        Assert.Contains("refused the object's BTF", warning);
        Assert.Contains("EINVAL", warning);
        Assert.Contains("linkage", warning, StringComparison.OrdinalIgnoreCase); // the kernel's own words
        var program = BpfSyscall.GetProgramInfo(collection.Programs["always_on"].Fd);
        Assert.Equal(0u, program.BtfId);
        var map = collection.Maps["autoload_hits"];
        var mapInfo = BpfSyscall.GetMapInfo(map.Fd);
        Assert.Equal(0u, mapInfo.BtfId);
        Assert.Equal(0u, mapInfo.BtfValueTypeId);
    }

    [SkippableFact]
    public void TheSameObjectWithItsBtfIntactLoadsItAndWarnsOfNothing()
    {
        var spec = LoaderTestSupport.Spec("autoload");
        using var collection = Collection.Load(spec);
        Assert.Empty(collection.Warnings);
        Assert.NotEqual(0u, collection.BtfId);
        Assert.Equal(collection.BtfId, BpfSyscall.GetProgramInfo(collection.Programs["always_on"].Fd).BtfId);
    }

    [SkippableFact]
    public void AMapWithASpinLockNeedsTheBtf()
    {
        var spec = Patched("btf_required", "count_locked");
        RequireKernelRefuses(spec);

        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec).Dispose());
        Assert.Equal("BTF", e.ObjectName);
        Assert.Equal(Errno.EINVAL, e.ErrorNumber);
        Assert.Contains("map 'locked_values'", e.Message);
        Assert.Contains("bpf_spin_lock", e.Message);
        Assert.Contains("linkage", e.Message, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public void AProgramPassingACallbackNeedsTheBtfOnlyWhenItIsLoaded()
    {
        var spec = Patched("subprogs", "entry_plain");
        RequireKernelRefuses(spec);

        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, new CollectionOptions { Programs = ["entry_loop"] }).Dispose());
        Assert.Equal("BTF", e.ObjectName);
        Assert.Contains("program 'entry_loop'", e.Message);
        Assert.Contains("callback", e.Message);

        using var collection = Collection.Load(spec, new CollectionOptions { Programs = ["entry_plain", "entry_one"] });
        Assert.Single(collection.Warnings);
        Assert.Equal(["entry_plain", "entry_one"], collection.Programs.Keys.Order().Reverse());
    }

    /// <summary>Skips unless bpf() works; fails if the kernel accepts the patched BTF (the fixture would prove nothing).</summary>
    private static void RequireKernelRefuses(CollectionSpec spec)
    {
        KernelTestSupport.RequireBpf();
        var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.BtfLoad(spec.Btf!.RawBytes.Span).Dispose());
        Assert.Equal(Errno.EINVAL, e.ErrorNumber);
    }

    /// <summary>The fixture parsed after setting the linkage of FUNC <paramref name="function"/> to extern in its .BTF section.</summary>
    private static CollectionSpec Patched(string fixture, string function)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var path = Fixtures.Path(fixture);
        var bytes = File.ReadAllBytes(path);
        Assert.True(ElfFile.Parse(bytes, path).TryGetSection(".BTF", out var section));
        var btf = bytes.AsSpan((int)section.Offset, (int)section.Size);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(btf[4..]);
        var types = btf.Slice((int)(headerLength + BinaryPrimitives.ReadUInt32LittleEndian(btf[8..])), (int)BinaryPrimitives.ReadUInt32LittleEndian(btf[12..]));
        var strings = btf.Slice((int)(headerLength + BinaryPrimitives.ReadUInt32LittleEndian(btf[16..])), (int)BinaryPrimitives.ReadUInt32LittleEndian(btf[20..]));
        int name = strings.IndexOf(Encoding.ASCII.GetBytes("\0" + function + "\0")) + 1;
        Assert.True(name > 0, $"{fixture} has no BTF string '{function}'");
        const uint FuncKind = 12, ExternLinkage = 2;
        for (int at = 0; at + 12 <= types.Length; at += 4)
        {
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(types[(at + 4)..]);
            if (BinaryPrimitives.ReadUInt32LittleEndian(types[at..]) != (uint)name || ((info >> 24) & 0x1f) != FuncKind) continue;
            BinaryPrimitives.WriteUInt32LittleEndian(types[(at + 4)..], (info & ~0xffffu) | ExternLinkage);
            return CollectionSpec.Parse(bytes, path);
        }
        throw new InvalidOperationException($"{fixture}: no BTF FUNC named '{function}'");
    }
}
