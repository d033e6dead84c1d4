using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class KernelBtfTests
{
    [SkippableFact]
    public void ConcurrentCallersShareOneVmlinuxParse()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        int before = KernelBtf.ParseCount;
        var results = new BtfSpec[8];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            results[i] = KernelBtf.GetVmlinux();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.All(results, r => Assert.Same(results[0], r));
        Assert.InRange(KernelBtf.ParseCount - before, 0, 1);
        Assert.Same(results[0], KernelBtf.GetVmlinux());
        Assert.Equal(KernelBtf.VmlinuxPath, results[0].Source);
        Assert.Null(results[0].Base);
        Assert.True(results[0].TypeCount > 1000);
        Assert.NotEmpty(results[0].FindByName("task_struct"));
    }

    [Fact]
    public void WeakSharingCreatesOnceAndAgainOnlyAfterCollection()
    {
        var shared = new WeakShared<object>(() => new object());
        var first = GetFromThreads(shared, out var distinct);
        Assert.Equal(1, distinct);
        Assert.Equal(1, shared.CreatedCount);

        // While held, the same instance; once nobody holds it, the collector may take it and the next call creates anew.
        DropAndCollect(shared, first);
        Assert.Equal(1, shared.CreatedCount);
        GetAndForget(shared);
        Assert.Equal(2, shared.CreatedCount);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference GetFromThreads(WeakShared<object> shared, out int distinct)
    {
        var results = new object[8];
        using var start = new Barrier(8);
        var threads = Enumerable.Range(0, 8).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            results[i] = shared.Get();
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        distinct = results.Distinct().Count();
        Assert.Same(results[0], shared.Get());
        return new WeakReference(results[0]);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void GetAndForget(WeakShared<object> shared) => Assert.NotNull(shared.Get());

    private static void DropAndCollect(WeakShared<object> shared, WeakReference first)
    {
        for (int i = 0; i < 10 && first.IsAlive; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
        Assert.False(first.IsAlive, "the shared instance is kept alive by the process: the reference must be weak");
        _ = shared;
    }

    [Fact]
    public void ModuleNamesAreSortedAndExcludeVmlinux()
    {
        var names = KernelBtf.ModuleNames();
        Assert.DoesNotContain("vmlinux", names);
        Assert.Equal(names.Order(StringComparer.Ordinal), names);
    }

    [Theory]
    [InlineData("")]
    [InlineData("..")]
    [InlineData("../etc/passwd")]
    [InlineData("vmlinux")]
    public void LoadModuleRefusesNonModuleNames(string name)
    {
        var b = new BtfBlob();
        b.Int("int", 4);
        Assert.ThrowsAny<ArgumentException>(() => KernelBtf.LoadModule(name, b.Parse()));
    }

    [Fact]
    public void LoadModuleOfAnAbsentModule()
    {
        var b = new BtfBlob();
        b.Int("int", 4);
        Assert.ThrowsAny<IOException>(() => KernelBtf.LoadModule("no_such_module_bpfps", b.Parse()));
    }

    [SkippableFact]
    public void ModulesOnThisMachineSplitOnVmlinux()
    {
        var names = KernelBtf.ModuleNames();
        Skip.If(names.Count == 0, "this kernel publishes no module BTF");
        var vmlinux = KernelBtf.GetVmlinux();
        var module = KernelBtf.LoadModule(names[0], vmlinux);
        Assert.Same(vmlinux, module.Base);
        Assert.Equal(vmlinux.NextTypeId, module.FirstTypeId);
        Assert.All(module.Types.Take(100), t => Assert.True(t.Id >= module.FirstTypeId));
    }

    private static byte[] SampleBtf()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        b.Struct("target_struct", 8, ("a", i32, 0, 0), ("b", i32, 32, 0));
        return b.Build();
    }

    [Fact]
    public void LoadFromFileReadsRawBtf()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bpfps-{Guid.NewGuid():n}.btf");
        File.WriteAllBytes(path, SampleBtf());
        try
        {
            var spec = KernelBtf.LoadFromFile(path);
            Assert.Equal(path, spec.Source);
            Assert.Single(spec.FindByName("target_struct"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadFromFileFindsTheBtfSectionOfAnElf()
    {
        var btf = SampleBtf();
        var path = Path.Combine(Path.GetTempPath(), $"bpfps-{Guid.NewGuid():n}.elf");
        File.WriteAllBytes(path, Elf((".text", new byte[40]), (".BTF", btf), (".BTF.ext", new byte[8])));
        try
        {
            var spec = KernelBtf.LoadFromFile(path);
            Assert.Equal(path + ":.BTF", spec.Source);
            Assert.Equal(btf, spec.RawBytes.ToArray());
            Assert.Single(spec.FindByName("target_struct"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void LoadFromFileRefusesElfWithoutBtfAndForeignElf()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bpfps-{Guid.NewGuid():n}.elf");
        try
        {
            File.WriteAllBytes(path, Elf((".text", new byte[8])));
            Assert.Contains("no .BTF section", Assert.Throws<BpfFormatException>(() => KernelBtf.LoadFromFile(path)).Reason);

            var elf32 = Elf((".BTF", SampleBtf()));
            elf32[4] = 1;
            File.WriteAllBytes(path, elf32);
            Assert.Contains("64-bit", Assert.Throws<BpfFormatException>(() => KernelBtf.LoadFromFile(path)).Reason);

            var truncated = Elf((".BTF", SampleBtf()));
            File.WriteAllBytes(path, truncated[..^70]);
            Assert.Throws<BpfFormatException>(() => KernelBtf.LoadFromFile(path));

            File.WriteAllBytes(path, [1, 2, 3]);
            Assert.Contains("truncated header", Assert.Throws<BpfFormatException>(() => KernelBtf.LoadFromFile(path)).Reason);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A minimal little-endian ELF64 relocatable: header, section data, .shstrtab, section headers.</summary>
    private static byte[] Elf(params (string Name, byte[] Data)[] sections)
    {
        var names = new List<byte> { 0 };
        var nameOffsets = new List<int>();
        foreach (var (name, _) in sections.Append((".shstrtab", [])))
        {
            nameOffsets.Add(names.Count);
            names.AddRange(Encoding.ASCII.GetBytes(name));
            names.Add(0);
        }
        var body = new List<byte>();
        var placed = new List<(int Offset, int Size)>();
        foreach (var (_, data) in sections)
        {
            placed.Add((64 + body.Count, data.Length));
            body.AddRange(data);
            while (body.Count % 8 != 0) body.Add(0);
        }
        placed.Add((64 + body.Count, names.Count));
        body.AddRange(names);
        while (body.Count % 8 != 0) body.Add(0);
        int shoff = 64 + body.Count, count = sections.Length + 2;
        var elf = new byte[shoff + count * 64];
        "\u007fELF"u8.CopyTo(elf);
        elf[4] = 2;
        elf[5] = 1;
        elf[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(18), 247);
        BinaryPrimitives.WriteUInt32LittleEndian(elf.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(elf.AsSpan(0x28), (ulong)shoff);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x34), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3a), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3c), (ushort)count);
        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan(0x3e), (ushort)(count - 1));
        body.CopyTo(elf, 64);
        for (int i = 1; i < count; i++)
        {
            var sh = elf.AsSpan(shoff + i * 64, 64);
            BinaryPrimitives.WriteUInt32LittleEndian(sh, (uint)nameOffsets[i - 1]);
            BinaryPrimitives.WriteUInt32LittleEndian(sh[4..], i == count - 1 ? 3u : 1u);
            BinaryPrimitives.WriteUInt64LittleEndian(sh[0x18..], (ulong)placed[i - 1].Offset);
            BinaryPrimitives.WriteUInt64LittleEndian(sh[0x20..], (ulong)placed[i - 1].Size);
        }
        return elf;
    }
}
