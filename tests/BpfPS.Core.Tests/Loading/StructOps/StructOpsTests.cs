using System.Buffers.Binary;
using System.Collections.Immutable;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;

namespace BpfPS.Core.Tests.Loading.StructOps;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StructOpsCollection
{
    /// <summary>Tests that register the fixtures' congestion controls: a name can be registered once at a time.</summary>
    public const string Name = "struct_ops registrations";
}

/// <summary>
/// struct_ops in the real kernel: tests/fixtures/struct_ops_cc.c is a TCP congestion control ("bpfps_so_cc", registered
/// by map update) and struct_ops_cc_link.c the same in ".struct_ops.link" ("bpfps_so_ccl", registered by a link).
/// </summary>
[Collection(StructOpsCollection.Name)]
public class StructOpsTests
{
    private const string Available = "/proc/sys/net/ipv4/tcp_available_congestion_control";
    private const string MapName = "so_cc";

    private static bool IsRegistered(string name) =>
        File.ReadAllText(Available).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Contains(name);

    /// <summary>Unregistering is synchronous, but a link's release can trail its close by a moment.</summary>
    private static bool GoneWithin(string name, TimeSpan wait)
    {
        var until = DateTime.UtcNow + wait;
        while (IsRegistered(name))
        {
            if (DateTime.UtcNow > until) return false;
            Thread.Sleep(20);
        }
        return true;
    }

    private static void RequireKernel()
    {
        KernelTestSupport.RequireBpf();
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        Skip.IfNot(File.Exists(Available), $"{Available} is missing (no TCP congestion control support)");
    }

    /// <summary>Last resort when a test fails with its congestion control still registered: unregister exactly our map.</summary>
    private static void ForceUnregister(uint mapId, string name)
    {
        if (mapId != 0 && IsRegistered(name)) KernelTestSupport.Run("bpftool", $"struct_ops unregister id {mapId}");
    }

    private static ulong BssCounter(Collection collection, string variable)
    {
        var bss = collection.Maps[".bss"];
        var datasec = (BtfDatasec)collection.Spec.Btf!.GetType(collection.Spec.Btf.FindByName(".bss").First(id => collection.Spec.Btf.GetKind(id) == BtfKind.Datasec));
        var slot = datasec.Variables.Single(v => collection.Spec.Btf.GetType(v.TypeId).Name == variable);
        var value = new byte[bss.ValueSize];
        Assert.True(bss.TryLookup(new byte[4], value));
        return slot.Size == 8 ? BinaryPrimitives.ReadUInt64LittleEndian(value.AsSpan((int)slot.Offset)) : BinaryPrimitives.ReadUInt32LittleEndian(value.AsSpan((int)slot.Offset));
    }

    [SkippableFact]
    public void ParsesTheStructOpsMapAndItsPrograms()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        var map = spec.Maps[MapName];
        Assert.Equal(BpfMapType.StructOps, map.Type);
        Assert.Equal((4u, 1u, 0u), (map.KeySize, map.MaxEntries, map.Flags));
        Assert.Equal(".struct_ops", map.SectionName);
        var ops = map.StructOps!;
        Assert.Equal("tcp_congestion_ops", ops.TypeName);
        Assert.False(ops.UsesLink);
        Assert.Equal(map.ValueSize, (uint)ops.Data.Length); // the object's own (partial) struct, as after libbpf's open
        Assert.Equal("bpfps_so_cc", System.Text.Encoding.ASCII.GetString(ops.Data, 0, 11));
        Assert.Equal(
            [new(1, "init", "so_init"), new(2, "ssthresh", "so_ssthresh"), new(3, "cong_avoid", "so_cong_avoid"), new(4, "undo_cwnd", "so_undo_cwnd")],
            ops.Functions.ToArray());
        foreach (var f in ops.Functions)
        {
            Assert.Equal(BpfProgramType.StructOps, spec.Programs[f.ProgramName].Type);
            Assert.Equal((BpfAttachType)f.MemberIndex, spec.Programs[f.ProgramName].ExpectedAttachType);
        }

        var link = CollectionSpec.Load(Fixtures.Path("struct_ops_cc_link")).Maps[MapName];
        Assert.Equal(".struct_ops.link", link.SectionName);
        Assert.Equal(StructOpsSpec.LinkFlag, link.Flags);
        Assert.True(link.StructOps!.UsesLink);
    }

    [SkippableFact]
    public void MapUpdateRegistersACongestionControlThatTcpUsesAndDisposeUnregistersIt()
    {
        RequireKernel();
        const string name = "bpfps_so_cc";
        Skip.If(IsRegistered(name), $"'{name}' is already registered by someone else");
        uint mapId = 0;
        try
        {
            using (var collection = Collection.LoadFile(Fixtures.Path("struct_ops_cc")))
            {
                var registration = Assert.Single(collection.StructOps);
                mapId = registration.MapId;
                Assert.Equal(StructOpsRegistrationKind.MapUpdate, registration.Kind);
                Assert.Equal(("tcp_congestion_ops", name, MapName), (registration.TypeName, registration.OpsName, registration.MapName));
                Assert.True(registration.IsRegistered);
                Assert.True(IsRegistered(name), $"'{name}' is not in {Available} after the load");

                // The kernel's view: a STRUCT_OPS map sized from bpf_struct_ops_tcp_congestion_ops, programs attached to its struct.
                var kernel = KernelBtf.GetVmlinux();
                uint valueType = kernel.FindByName("bpf_struct_ops_tcp_congestion_ops").Single(id => kernel.GetKind(id) == BtfKind.Struct);
                uint opsType = kernel.FindByName("tcp_congestion_ops").First(id => kernel.GetKind(id) == BtfKind.Struct);
                Assert.Equal(kernel.SizeOf(valueType), collection.Maps[MapName].ValueSize);
                Assert.All(collection.Programs.Values, p => Assert.Equal(opsType, p.AttachBtfId));

                var tcp = LoopbackTcp.Run(name);
                Assert.Equal(name, tcp.ClientCongestionControl);
                Assert.Equal(name, tcp.ServerCongestionControl);
                Assert.True(BssCounter(collection, "init_calls") >= 2, "init ran for neither or only one end of the connection");
                Assert.True(BssCounter(collection, "cong_avoid_calls") > 0, "cong_avoid never ran");
                Assert.True(BssCounter(collection, "last_cwnd") > 0, "cong_avoid read no congestion window");
            }
            Assert.True(GoneWithin(name, TimeSpan.FromSeconds(5)), $"'{name}' is still registered after Dispose");
        }
        finally
        {
            ForceUnregister(mapId, name);
        }
    }

    [SkippableFact]
    public void StructOpsLinkRegistersThroughALinkThatUnregistersWhenItCloses()
    {
        RequireKernel();
        const string name = "bpfps_so_ccl";
        Skip.If(IsRegistered(name), $"'{name}' is already registered by someone else");
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc_link"));
        uint mapId = 0;
        try
        {
            // Staged but not registered: a BPF_F_LINK map registers only through its link.
            using (var staged = Collection.Load(spec, new CollectionOptions { RegisterStructOps = false }))
            {
                Assert.Empty(staged.StructOps);
                Assert.Equal(StructOpsSpec.LinkFlag, staged.Maps[MapName].Flags);
                Assert.False(IsRegistered(name));
            }

            using (var collection = Collection.Load(spec))
            {
                var registration = Assert.Single(collection.StructOps);
                mapId = registration.MapId;
                Assert.Equal(StructOpsRegistrationKind.Link, registration.Kind);
                Assert.NotEqual(0u, registration.LinkId);
                using (var seen = Core.Links.KernelLink.OpenById(registration.LinkId))
                {
                    Assert.Equal(BpfLinkType.StructOps, seen.Type);
                    Assert.Equal(registration.MapId, seen.Info.MapId);
                }
                Assert.True(IsRegistered(name), $"'{name}' is not in {Available} after the load");

                var tcp = LoopbackTcp.Run(name);
                Assert.Equal(name, tcp.ClientCongestionControl);
                Assert.True(BssCounter(collection, "init_calls") >= 2, "init ran for neither or only one end of the connection");
                Assert.True(BssCounter(collection, "cong_avoid_calls") > 0, "cong_avoid never ran");

                // The name is taken: a second load gets EEXIST from the link and leaves nothing behind.
                var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec).Dispose());
                Assert.Equal($"map '{MapName}'", e.ObjectName);
                Assert.Equal(Errno.EEXIST, e.ErrorNumber);
                Assert.Contains("through a link", e.Message);
                Assert.True(IsRegistered(name));
            }
            Assert.True(GoneWithin(name, TimeSpan.FromSeconds(5)), $"'{name}' is still registered after Dispose");
        }
        finally
        {
            ForceUnregister(mapId, name);
        }
    }

    [SkippableFact]
    public void RegisteringATakenNameFailsAndTheFailedLoadUnregistersWhatItRegistered()
    {
        RequireKernel();
        const string name = "bpfps_so_cc";
        Skip.If(IsRegistered(name), $"'{name}' is already registered by someone else");
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        uint mapId = 0;
        try
        {
            using (var first = Collection.Load(spec))
            {
                mapId = first.StructOps[0].MapId;
                var e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec).Dispose());
                Assert.Equal($"map '{MapName}'", e.ObjectName);
                Assert.Equal(Errno.EEXIST, e.ErrorNumber);
                Assert.Contains($"named '{name}' is already registered", e.Message);
                Assert.True(IsRegistered(name));
            }
            Assert.True(GoneWithin(name, TimeSpan.FromSeconds(5)));

            // Two maps registering the same name: the second fails, and the first must be unregistered by the rollback.
            var twice = WithMaps(spec, spec.Maps.Values.Append(CopyOf(spec.Maps[MapName], "so_cc_again")));
            var again = Assert.Throws<BpfLoadException>(() => Collection.Load(twice).Dispose());
            Assert.Equal("map 'so_cc_again'", again.ObjectName);
            Assert.False(IsRegistered(name), $"the failed load left '{name}' registered");
        }
        finally
        {
            ForceUnregister(mapId, name);
        }
    }

    [SkippableTheory]
    [InlineData("struct_ops_cc", "bpfps_so_cc", BpfCommand.MapUpdateElem)]   // the registering update
    [InlineData("struct_ops_cc_link", "bpfps_so_ccl", BpfCommand.MapUpdateElem)] // staging the value
    [InlineData("struct_ops_cc_link", "bpfps_so_ccl", BpfCommand.LinkCreate)]  // the registering link
    public void AFailedRegistrationNamesTheMapAndLeavesNothingRegisteredOrOpen(string fixture, string name, BpfCommand command)
    {
        RequireKernel();
        Skip.If(IsRegistered(name), $"'{name}' is already registered by someone else");
        var spec = CollectionSpec.Load(Fixtures.Path(fixture));
        using (Collection.Load(spec, new CollectionOptions { RegisterStructOps = false })) { } // lazy caches fill here
        GC.Collect();
        GC.WaitForPendingFinalizers();
        int fdsBefore = KernelTestSupport.OpenFdCount();
        BpfLoadException e;
        using (BpfFaultInjection.FailNth(command, 1, Errno.ENOMEM))
            e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec));
        Assert.Equal($"map '{MapName}'", e.ObjectName);
        Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
        Assert.Contains($"refused to register tcp_congestion_ops '{name}'", e.Message);
        Assert.False(IsRegistered(name));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(fdsBefore, KernelTestSupport.OpenFdCount());
    }

    [SkippableFact]
    public void StructTypesTheKernelLacksAreRefusedBeforeAnythingIsCreated()
    {
        RequireKernel();
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        var ops = spec.Maps[MapName].StructOps!;
        // sched_ext's struct does not exist on every kernel: the loader names the struct, not a kernel errno.
        foreach (var missing in new[] { "sched_ext_ops", "bpfps_no_such_ops" })
        {
            var map = CopyOf(spec.Maps[MapName], MapName, new StructOpsSpec { TypeName = missing, TypeId = ops.TypeId, Data = ops.Data, Functions = ops.Functions });
            var probe = KernelBtf.GetVmlinux();
            Skip.If(probe.FindByName(missing).Any(id => probe.GetKind(id) == BtfKind.Struct), $"this kernel has struct {missing}");
            var e = Assert.Throws<BpfLoadException>(() => Collection.Load(WithMaps(spec, spec.Maps.Values.Select(m => m.Name == MapName ? map : m))).Dispose());
            Assert.Equal($"map '{MapName}'", e.ObjectName);
            Assert.Contains($"struct {missing} is not in the running kernel's BTF", e.Message);
            Assert.Equal(0, e.ErrorNumber);
        }
    }

    [SkippableFact]
    public void AStructOpsProgramNoMapUsesIsRefusedWithItsName()
    {
        RequireKernel();
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        var ops = spec.Maps[MapName].StructOps!;
        var map = CopyOf(spec.Maps[MapName], MapName, new StructOpsSpec
        {
            TypeName = ops.TypeName, TypeId = ops.TypeId, Data = ops.Data, Functions = ops.Functions.Where(f => f.ProgramName != "so_init").ToImmutableArray(),
        });
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(WithMaps(spec, spec.Maps.Values.Select(m => m.Name == MapName ? map : m))).Dispose());
        Assert.Equal("program 'so_init'", e.ObjectName);
        Assert.Contains("no struct_ops map points at this struct_ops program", e.Message);
    }

    [SkippableFact]
    public void AMapPointingAtAProgramLeftOutOfTheSpecIsRefusedWithBothNames()
    {
        RequireKernel();
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        var without = new CollectionSpec
        {
            Path = spec.Path, Maps = spec.Maps, Btf = spec.Btf, Externs = spec.Externs, License = spec.License, KernelVersion = spec.KernelVersion,
            Programs = spec.Programs.Where(p => p.Key != "so_undo_cwnd").ToDictionary(p => p.Key, p => p.Value),
        };
        var e = Assert.Throws<BpfLoadException>(() => Collection.Load(without).Dispose());
        Assert.Equal($"map '{MapName}'", e.ObjectName);
        Assert.Contains("member 'undo_cwnd' points at program 'so_undo_cwnd', which is not in the collection", e.Message);
    }

    [SkippableFact]
    public void SetMembersTheKernelLacksAreRefusedAndUnsetOnesSkipped()
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        var spec = CollectionSpec.Load(Fixtures.Path("struct_ops_cc"));
        var kernel = KernelBtf.GetVmlinux();
        var layout = StructOpsLayout.Build(spec.Path, spec.Maps[MapName], spec.Btf!, kernel);
        Assert.Equal("bpfps_so_cc", layout.OpsName);
        var kernelType = (BtfComposite)kernel.GetType(layout.KernelTypeId);
        Assert.Equal(
            new[] { "init", "ssthresh", "cong_avoid", "undo_cwnd" }.Select(m => kernelType.Members.Select((x, i) => (x.Name, i)).Single(x => x.Name == m).i),
            layout.Programs.Select(p => (int)p.MemberIndex));
        // The name lands where the kernel's struct has it, inside the value's "data" member.
        var valueType = (BtfComposite)kernel.GetType(layout.ValueTypeId);
        int nameAt = (int)(valueType.Members.Single(m => m.Name == "data").BitOffset / 8 + kernelType.Members.Single(m => m.Name == "name").BitOffset / 8);
        Assert.Equal("bpfps_so_cc\0", System.Text.Encoding.ASCII.GetString(layout.Value, nameAt, 12));
    }

    internal static MapSpec CopyOf(MapSpec m, string name, StructOpsSpec? structOps = null) => new()
    {
        Name = name, Type = m.Type, KeySize = m.KeySize, ValueSize = m.ValueSize, MaxEntries = m.MaxEntries, Flags = m.Flags,
        SectionName = m.SectionName, StructOps = structOps ?? m.StructOps,
    };

    internal static CollectionSpec WithMaps(CollectionSpec spec, IEnumerable<MapSpec> maps) => new()
    {
        Path = spec.Path, Maps = maps.ToDictionary(m => m.Name), Programs = spec.Programs, Btf = spec.Btf, Externs = spec.Externs,
        License = spec.License, KernelVersion = spec.KernelVersion,
    };
}
