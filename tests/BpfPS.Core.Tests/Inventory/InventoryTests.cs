using System.Globalization;
using System.Text.Json;
using BpfPS.Core.Btf;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Inventory;

/// <summary>The system-wide listing finds what a test just created; bpftool is the independent reference where installed.</summary>
public class InventoryTests
{
    [SkippableFact]
    public void ListsAMapJustCreated()
    {
        KernelTestSupport.RequireBpf();
        using var fd = BpfSyscall.MapCreate(BpfMapType.LruHash, 8, 24, 50, name: "inv_map_test");
        uint id = BpfSyscall.GetMapInfo(fd).Id;

        var map = Assert.Single(BpfInventory.Maps(), m => m.Id == id);
        Assert.Equal("inv_map_test", map.Name);
        Assert.Equal(BpfMapType.LruHash, map.Type);
        Assert.Equal((8u, 24u, 50u), (map.KeySize, map.ValueSize, map.MaxEntries));
        Assert.Equal(map, BpfInventory.GetMap(id));
    }

    [SkippableFact]
    public void ListsAProgramJustLoadedWithItsTagAndLoadTime()
    {
        KernelTestSupport.RequireBpf();
        var before = DateTime.Now;
        using var fd = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(3), "inv_prog_test");
        var after = DateTime.Now;
        uint id = BpfSyscall.GetProgramInfo(fd).Id;

        var program = Assert.Single(BpfInventory.Programs(), p => p.Id == id);
        Assert.Equal("inv_prog_test", program.Name);
        Assert.Equal(BpfProgramType.SocketFilter, program.Type);
        Assert.Matches("^[0-9a-f]{16}$", program.Tag);
        // Load time comes from the kernel's boot clock; allow for the two clock reads that convert it.
        Assert.InRange(program.LoadedAt, before.AddSeconds(-1), after.AddSeconds(1));
        Assert.Null(BpfInventory.GetProgram(uint.MaxValue));
    }

    [SkippableFact]
    public void AgreesWithBpftool()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(KernelTestSupport.HasTool("bpftool"), "bpftool is not installed");
        using var fd = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(1), "inv_bpftool");
        uint id = BpfSyscall.GetProgramInfo(fd).Id;
        var (code, output) = KernelTestSupport.Run("bpftool", $"prog show id {id} --json");
        Assert.True(code == 0, output);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;

        var program = BpfInventory.GetProgram(id)!;
        Assert.Equal(root.GetProperty("tag").GetString(), program.Tag);
        Assert.Equal(root.GetProperty("name").GetString(), program.Name);
        // bpftool prints loaded_at as Unix seconds computed the same way (boot time + load_time).
        long loadedAt = root.GetProperty("loaded_at").GetInt64();
        Assert.InRange(new DateTimeOffset(program.LoadedAt).ToUnixTimeSeconds(), loadedAt - 1, loadedAt + 1);
    }

    [SkippableFact]
    public void RunStatisticsAreCountedWhileEnabled()
    {
        KernelTestSupport.RequireBpf();
        using var fd = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(0), "inv_stats");
        uint id = BpfSyscall.GetProgramInfo(fd).Id;
        using (BpfSyscall.EnableStats())
            BpfSyscall.ProgramTestRun(fd, new byte[64], repeat: 25);
        var program = BpfInventory.GetProgram(id)!;
        Assert.True(program.RunCount >= 25, $"run count {program.RunCount}");
        Assert.True(program.RunTime > TimeSpan.Zero);
    }

    [SkippableFact]
    public void BootClockAgreesWithProcUptime()
    {
        var uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], CultureInfo.InvariantCulture);
        Assert.InRange(BootClock.SinceBoot().TotalSeconds, uptime - 1, uptime + 1);
    }

    [SkippableFact]
    public void BtfObjectIsReadBackByIdAsLoaded()
    {
        KernelTestSupport.RequireBpf();
        var b = new BtfBuilder();
        uint u32 = b.AddInt("unsigned int", 4);
        b.AddStruct("readback", 8, new BtfMember("a", u32, 0, 0), new BtfMember("b", u32, 32, 0));
        var raw = b.Build();
        using var fd = BpfSyscall.BtfLoad(raw);
        uint id = BpfSyscall.GetBtfInfo(fd).Id;

        var spec = BtfObjects.Load(id);
        Assert.Equal(raw, spec.RawBytes.ToArray());
        Assert.Equal("readback", spec.GetType(2).Name);
    }
}
