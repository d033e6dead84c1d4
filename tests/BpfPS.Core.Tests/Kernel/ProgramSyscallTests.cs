using BpfPS.Core.Asm;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

public class ProgramSyscallTests
{
    [SkippableFact]
    public void SocketFilterLoadsRunsAndReportsInfo()
    {
        KernelTestSupport.RequireBpf();
        using var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(7), "bpfps_ret7");

        var packet = new byte[64]; // a socket filter test run needs at least an Ethernet header
        var result = BpfSyscall.ProgramTestRun(prog, packet, repeat: 3);
        Assert.Equal(7u, result.ReturnValue);

        var info = BpfSyscall.GetProgramInfo(prog, includeXlatedInstructions: true);
        Assert.Equal(BpfProgramType.SocketFilter, info.Type);
        Assert.Equal("bpfps_ret7", info.Name);
        Assert.True(info.GplCompatible);
        Assert.Matches("^[0-9a-f]{16}$", info.Tag);
        Assert.Equal(16u, info.XlatedLength);
        Assert.Equal(16, info.XlatedInstructions!.Length);
        Assert.Contains(info.Id, BpfSyscall.ProgramIds());

        using var byId = BpfSyscall.ProgramGetFdById(info.Id);
        Assert.Equal(info.Tag, BpfSyscall.GetProgramInfo(byId).Tag);
    }

    [SkippableFact]
    public void TestRunCopiesThePacketOut()
    {
        KernelTestSupport.RequireBpf();
        // XDP sees the whole frame (a socket filter's test run would not give the Ethernet header back).
        using var prog = BpfSyscall.ProgramLoad(new ProgramLoadRequest
        {
            Type = BpfProgramType.Xdp, Instructions = KernelTestSupport.ReturnConstant(2), License = "GPL",
        }).Fd;
        var packet = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        var output = new byte[128];
        var result = BpfSyscall.ProgramTestRun(prog, packet, output);
        Assert.Equal(2u, result.ReturnValue); // XDP_PASS
        Assert.Equal(64, result.DataOutSize);
        Assert.Equal(packet, output.AsSpan(0, 64).ToArray());
    }

    [SkippableFact]
    public void EagainIsRetriedLikeLibbpf()
    {
        KernelTestSupport.RequireBpf();
        var stats = SyscallStats.Current;
        stats.Reset();
        using (BpfFaultInjection.Inject((c, n) => c == BpfCommand.ProgLoad && n <= 2 ? Errno.EAGAIN : null))
        using (var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(0)))
            Assert.False(prog.IsInvalid);
        Assert.Equal(3, stats.CallCount(BpfCommand.ProgLoad));

        using (BpfFaultInjection.FailFrom(BpfCommand.ProgLoad, 1, Errno.EAGAIN)) // gives up after 5 attempts (then once more with a log)
            Assert.Equal(Errno.EAGAIN, Assert.Throws<BpfSyscallException>(() => KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(0))).ErrorNumber);
    }

    [SkippableFact]
    public void IdNameAndTagAgreeWithBpftool()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(KernelTestSupport.HasTool("bpftool"), "bpftool is not installed");
        using var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(3), "bpfps_tool");
        var info = BpfSyscall.GetProgramInfo(prog);

        var (code, json) = KernelTestSupport.Run("bpftool", $"-j prog show id {info.Id}");
        Assert.True(code == 0, json);
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        Assert.Equal(info.Id, doc.RootElement.GetProperty("id").GetUInt32());
        Assert.Equal(info.Tag, doc.RootElement.GetProperty("tag").GetString());
        Assert.Equal("bpfps_tool", doc.RootElement.GetProperty("name").GetString());
        Assert.Equal("socket_filter", doc.RootElement.GetProperty("type").GetString());
    }

    [SkippableFact]
    public void VerifierRejectionCarriesTheLog()
    {
        KernelTestSupport.RequireBpf();
        // "exit" with r0 never written: the verifier says "R0 !read_ok".
        var e = Assert.Throws<BpfSyscallException>(() => KernelTestSupport.LoadSocketFilter([KernelTestSupport.Exit()]));
        Assert.Equal(BpfCommand.ProgLoad, e.Command);
        Assert.Equal(Errno.EACCES, e.ErrorNumber);
        Assert.NotNull(e.Log); // obtained by the automatic retry with log level 1
        Assert.Contains("R0 !read_ok", e.Log);
        Assert.False(e.IsPermissionDenied); // EACCES with a verifier log is a rejection, not missing privileges
    }

    [SkippableFact]
    public void TooSmallLogBufferGrowsInsteadOfFailing()
    {
        KernelTestSupport.RequireBpf();
        // 200 moves: the verbose (level 2) log is far larger than the 1 KiB we start with.
        var code = Enumerable.Range(0, 200).Select(i => KernelTestSupport.MovImm(0, i)).Append(KernelTestSupport.Exit()).ToArray();
        var result = BpfSyscall.ProgramLoad(new ProgramLoadRequest
        {
            Type = BpfProgramType.SocketFilter, Instructions = code, License = "GPL", LogLevel = 2, LogSize = 1024,
        });
        using var fd = result.Fd;
        Assert.NotNull(result.VerifierLog);
        Assert.True(result.VerifierLog!.Length > 1024, $"log length {result.VerifierLog.Length}");
        Assert.Contains("199: (b7) r0 = 199", result.VerifierLog);
    }

    [SkippableFact]
    public void EnableStatsCountsRuns()
    {
        KernelTestSupport.RequireBpf();
        using var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(1));
        using (BpfSyscall.EnableStats())
        {
            BpfSyscall.ProgramTestRun(prog, new byte[64], repeat: 5);
            var info = BpfSyscall.GetProgramInfo(prog);
            Assert.True(info.RunCount >= 5, $"run count {info.RunCount}");
        }
    }

    [SkippableFact]
    public void BtfLoadAcceptsAMinimalBlobAndExplainsABadOne()
    {
        KernelTestSupport.RequireBpf();
        using var btf = BpfSyscall.BtfLoad(MinimalBtf(intBits: 32));
        var info = BpfSyscall.GetBtfInfo(btf);
        Assert.True(info.Id > 0);
        Assert.False(info.IsKernel);
        Assert.Contains(info.Id, BpfSyscall.BtfIds());

        // An int whose bit count exceeds its size is invalid: the kernel's BTF log says so.
        var e = Assert.Throws<BpfSyscallException>(() => BpfSyscall.BtfLoad(MinimalBtf(intBits: 64)));
        Assert.Equal(BpfCommand.BtfLoad, e.Command);
        Assert.Equal(Errno.EINVAL, e.ErrorNumber);
        Assert.False(string.IsNullOrEmpty(e.Log));
    }

    /// <summary>A BTF blob with one 4-byte int named "int" (layout per Documentation/bpf/btf.rst).</summary>
    private static byte[] MinimalBtf(int intBits)
    {
        var strings = "\0int\0"u8.ToArray();
        var types = new byte[16];
        BitConverter.TryWriteBytes(types.AsSpan(0), 1u);                 // name_off -> "int"
        BitConverter.TryWriteBytes(types.AsSpan(4), 1u << 24);           // kind INT, vlen 0
        BitConverter.TryWriteBytes(types.AsSpan(8), 4u);                 // size 4
        BitConverter.TryWriteBytes(types.AsSpan(12), (uint)(1 << 24) | (uint)intBits); // encoding SIGNED, offset 0, bits
        var header = new byte[24];
        BitConverter.TryWriteBytes(header.AsSpan(0), (ushort)0xeB9F);
        header[2] = 1;                                                   // version
        BitConverter.TryWriteBytes(header.AsSpan(4), 24u);               // hdr_len
        BitConverter.TryWriteBytes(header.AsSpan(8), 0u);                // type_off
        BitConverter.TryWriteBytes(header.AsSpan(12), (uint)types.Length);
        BitConverter.TryWriteBytes(header.AsSpan(16), (uint)types.Length); // str_off
        BitConverter.TryWriteBytes(header.AsSpan(20), (uint)strings.Length);
        return [.. header, .. types, .. strings];
    }
}
