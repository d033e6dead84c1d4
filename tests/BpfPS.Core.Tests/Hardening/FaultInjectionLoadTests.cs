using System.Text.RegularExpressions;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Tests.Kernel;
using BpfPS.Core.Tests.Loading.Loader;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// Failures injected at each kind of kernel step of a load (BTF, the Nth map, global data initialisation and freezing,
/// the Nth program, a pin), on fixtures with global data, CO-RE and pins. Beyond what Loading/AllOrNothingTests proves
/// for btf_maps (descriptors and pins), each case here checks that the error names the object that failed and the file,
/// and that the kernel itself holds no map or program of the fixture's that was not there before.
/// </summary>
[Collection(DescriptorCountingCollection.Name)]
public class FaultInjectionLoadTests
{
    public static TheoryData<string, BpfCommand, int, string> Faults() => new()
    {
        // fixture, failing command, its ordinal, the object the error must name (a regex over BpfLoadException.ObjectName)
        { "btf_required", BpfCommand.BtfLoad, 1, "^BTF$" },                              // a BTF failure is fatal only when something needs the BTF
        { "global_data", BpfCommand.MapCreate, 1, "^map '" },
        { "global_data", BpfCommand.MapCreate, 4, "^map '" },
        { "global_data", BpfCommand.MapUpdateElem, 1, @"^map '\.(data|rodata|bss)" },     // global data initialisation
        { "global_data", BpfCommand.MapUpdateElem, 3, @"^map '\.(data|rodata|bss)" },
        { "global_data", BpfCommand.MapFreeze, 1, @"^map '\.rodata" },                   // .rodata frozen after init
        { "global_data", BpfCommand.ProgLoad, 1, "^program 'use_globals'$" },
        { "core_fields", BpfCommand.MapCreate, 1, "^map 'results'$" },
        { "core_fields", BpfCommand.ProgLoad, 1, "^program 'core_fields'$" },             // after CO-RE against vmlinux
        { "multi_prog", BpfCommand.ProgLoad, 2, "^program '" },
        { "btf_maps", BpfCommand.ObjPin, 1, "^map 'pinned_lru'$" },
    };

    [SkippableTheory]
    [MemberData(nameof(Faults))]
    public void FailedStepNamesTheObjectAndLeavesNothingBehind(string fixture, BpfCommand command, int ordinal, string objectPattern)
    {
        var spec = LoaderTestSupport.Spec(fixture);
        var options = LoaderTestSupport.OptionsWithPrivatePins(out var pinDirectory);
        try
        {
            HashSet<string> kernelNames;
            using (var warmUp = Collection.Load(spec, options))   // lazy caches (vmlinux BTF, CPU count) fill here
            {
                kernelNames = warmUp.Maps.Values.Select(m => m.KernelName).Concat(warmUp.Programs.Values.Select(p => Truncate(p.Name))).ToHashSet();
                // The name filter below must see a loaded collection's objects, or its "nothing left" would prove nothing.
                var seenMaps = BpfInventory.Maps().Where(m => kernelNames.Contains(m.Name)).Select(m => m.Id).ToHashSet();
                var seenPrograms = BpfInventory.Programs().Where(p => kernelNames.Contains(p.Name)).Select(p => p.Id).ToHashSet();
                Assert.All(warmUp.Maps.Values, m => Assert.Contains(m.Id, seenMaps));
                Assert.All(warmUp.Programs.Values, p => Assert.Contains(p.Id, seenPrograms));
            }
            foreach (var pin in Directory.GetFiles(pinDirectory)) File.Delete(pin);
            WaitUntilGone(kernelNames, [], [], out var mapsBefore, out var programsBefore);

            int fdsBefore = OpenFdCount();
            var calls = new List<(BpfCommand, int)>();
            BpfLoadException e;
            using (BpfFaultInjection.Inject((c, n) => { calls.Add((c, n)); return c == command && n >= ordinal ? Errno.ENOMEM : null; }))
                e = Assert.Throws<BpfLoadException>(() => Collection.Load(spec, options));

            Skip.IfNot(calls.Contains((command, ordinal)), $"loading {fixture} makes fewer than {ordinal} {command} calls");
            Assert.Equal(Errno.ENOMEM, e.ErrorNumber);
            Assert.Equal(spec.Path, e.ObjectPath);
            Assert.Contains(spec.Path, e.Message);
            Assert.Matches(objectPattern, e.ObjectName ?? "");
            Assert.Contains(e.ObjectName!, e.Message);
            Assert.Equal(fdsBefore, OpenFdCount());
            Assert.Empty(Directory.GetFileSystemEntries(pinDirectory));
            var (maps, programs) = WaitUntilGone(kernelNames, mapsBefore, programsBefore, out _, out _);
            Assert.True(maps.Count == 0 && programs.Count == 0,
                $"kernel still holds maps [{string.Join(", ", maps)}] and programs [{string.Join(", ", programs)}] from the failed load");
        }
        finally
        {
            Directory.Delete(pinDirectory, true);
        }
    }

    /// <summary>The kernel keeps 15 bytes of a name (BPF_OBJ_NAME_LEN 16 with the NUL).</summary>
    private static string Truncate(string name) => name.Length <= 15 ? name : name[..15];

    /// <summary>
    /// Ids of maps and programs with the fixture's kernel names that are not in the "before" sets, polled for up to two
    /// seconds (the kernel frees objects after an RCU grace period, and other test runs may load the same fixture).
    /// </summary>
    private static (List<uint> Maps, List<uint> Programs) WaitUntilGone(HashSet<string> names, HashSet<uint> mapsBefore,
        HashSet<uint> programsBefore, out HashSet<uint> mapsNow, out HashSet<uint> programsNow)
    {
        List<uint> maps = [], programs = [];
        mapsNow = programsNow = [];
        for (int attempt = 0; attempt < 40; attempt++)
        {
            mapsNow = BpfInventory.Maps().Where(m => names.Contains(m.Name)).Select(m => m.Id).ToHashSet();
            programsNow = BpfInventory.Programs().Where(p => names.Contains(p.Name)).Select(p => p.Id).ToHashSet();
            maps = mapsNow.Except(mapsBefore).ToList();
            programs = programsNow.Except(programsBefore).ToList();
            if (maps.Count == 0 && programs.Count == 0) break;
            Thread.Sleep(50);
        }
        return (maps, programs);
    }

    /// <summary>Descriptors of this process, after finalizers ran so handles other tests dropped don't count.</summary>
    private static int OpenFdCount()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return KernelTestSupport.OpenFdCount();
    }
}
