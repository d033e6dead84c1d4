using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

/// <summary>
/// libbpf 1.1 is the independent source for what an object means: after bpf_object__open it knows every program's
/// type, every map's definition and initial value, and (after load) the fixed-up BTF it gives the kernel.
/// </summary>
public class ObjectParserMatchesLibbpfTests
{
    public static readonly TheoryData<string> Openable = new() { "multi_prog", "subprogs", "btf_maps", "global_data", "externs", "sec_kinds", "verifier_reject", "struct_ops_cc" };

    private static (CollectionSpec Spec, LibbpfObjectInfo Info) Both(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build fixtures");
        Skip.IfNot(LibbpfHarness.Available, LibbpfHarness.UnavailableReason);
        string path = Fixtures.Path(fixture);
        var info = LibbpfHarness.Info(path) ?? throw new InvalidOperationException($"libbpf cannot open {fixture}");
        return (CollectionSpec.Load(path), info);
    }

    [SkippableTheory]
    [MemberData(nameof(Openable))]
    public void ProgramsMatch(string fixture)
    {
        var (spec, info) = Both(fixture);
        Assert.Equal(info.Programs.Select(p => p.Name), spec.Programs.Keys);
        foreach (var theirs in info.Programs)
        {
            var ours = spec.Programs[theirs.Name];
            Assert.Equal(theirs.Section, ours.SectionName);
            Assert.Equal((BpfProgramType)theirs.Type, ours.Type);
            Assert.Equal((BpfAttachType)theirs.ExpectedAttachType, ours.ExpectedAttachType);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Openable))]
    public void MapsMatch(string fixture)
    {
        var (spec, info) = Both(fixture);
        Assert.Equal(info.Maps.Select(m => m.Name), spec.Maps.Keys);
        foreach (var theirs in info.Maps)
        {
            var ours = spec.Maps[theirs.Name];
            Assert.Equal((BpfMapType)theirs.Type, ours.Type);
            Assert.Equal(theirs.KeySize, ours.KeySize);
            Assert.Equal(theirs.ValueSize, ours.ValueSize);
            Assert.Equal(theirs.MaxEntries, ours.MaxEntries);
            Assert.Equal(theirs.Flags, ours.Flags);
            Assert.Equal(theirs.NumaNode, ours.NumaNode);
            Assert.Equal(theirs.MapExtra, ours.MapExtra);
            Assert.Equal(theirs.KeyTypeId, ours.KeyTypeId);
            Assert.Equal(theirs.ValueTypeId, ours.ValueTypeId);
            Assert.Equal(theirs.InnerMapName, ours.InnerMap?.Name);
            if (info.InitialValues.TryGetValue(theirs.Name, out var value))
                Assert.Equal(value, ours.InitialValue ?? new byte[ours.ValueSize]);
        }
    }

    /// <summary>DATASEC sizes and offsets, hidden symbols, .ksyms and .kconfig rewrites, the dummy ksym VAR: byte for byte.</summary>
    [SkippableTheory]
    [MemberData(nameof(Openable))]
    public void FixedUpBtfIsByteForByteLibbpfs(string fixture)
    {
        var (spec, info) = Both(fixture);
        Assert.NotNull(info.Btf);
        Assert.NotNull(spec.Btf);
        Assert.Equal(info.Btf, spec.Btf!.RawBytes.ToArray());
    }
}
