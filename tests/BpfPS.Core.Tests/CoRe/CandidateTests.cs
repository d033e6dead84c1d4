using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>How target candidates are found (essential names, vmlinux before modules) and how several are reconciled.</summary>
public class CandidateTests
{
    private static (BtfSpec Local, uint Foo) LocalFoo()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 8, Member("a", i32, 0), Member("b", i32, 32));
        return (l.BuildSpec("local.o"), foo);
    }

    [Fact]
    public void SeveralCandidatesThatAgreeAreFine()
    {
        // Deduplication leftovers: foo and foo___2 both put b at byte 8.
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint first = t.AddStruct("foo", 12, Member("x", ti32, 0), Member("a", ti32, 32), Member("b", ti32, 64));
        t.AddStruct("foo___2", 12, Member("y", ti32, 0), Member("a", ti32, 32), Member("b", ti32, 64));
        var program = new[] { LoadWord(4) };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, t.BuildSpec("t"));
        Assert.Equal(8, program[0].Offset);
        Assert.Equal(first, result.TargetTypeId);
    }

    [Fact]
    public void CandidatesThatDisagreeAreAnError()
    {
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("foo", 12, Member("x", ti32, 0), Member("a", ti32, 32), Member("b", ti32, 64));
        t.AddStruct("foo___other", 8, Member("a", ti32, 0), Member("b", ti32, 32));
        var program = new[] { LoadWord(4) };
        var error = Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, t.BuildSpec("t")));
        Assert.Contains("ambiguous", error.Message);
        Assert.Equal("local.o", error.File);
        Assert.Equal(LoadWord(4), program[0]);   // nothing patched
    }

    [Fact]
    public void CandidatesThatDisagreeOnlyInSizeAreAnError()
    {
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        t.AddStruct("foo", 16, Member("a", ti32, 0), Member("b", ti32, 64));
        t.AddStruct("foo___wide", 16, Member("a", ti32, 0), Member("b", tlong, 64));
        var program = new[] { MoveImmediate(4) };
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteSize), local, t.BuildSpec("t")));
    }

    [Fact]
    public void OnlyTheStructurallyMatchingFlavorIsUsed()
    {
        // Two flavors with the same essential name; only one has field b, so it decides alone.
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("foo___old", 4, Member("a", ti32, 0));
        uint current = t.AddStruct("foo", 24, Member("a", ti32, 0), Member("b", ti32, 160));
        var program = new[] { LoadWord(4) };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, t.BuildSpec("t"));
        Assert.Equal(20, program[0].Offset);
        Assert.Equal(current, result.TargetTypeId);
    }

    [Fact]
    public void CandidatesOfAnIncompatibleKindAreIgnored()
    {
        // A typedef or a union named foo is not a candidate for struct foo.
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddTypedef("foo", ti32);
        t.AddUnion("foo", 4, Member("a", ti32, 0), Member("b", ti32, 0));
        var program = new[] { MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldExists), local, t.BuildSpec("t"));
        Assert.Equal(0, program[0].Immediate);
    }

    [Fact]
    public void LaterRelocationsOnlyConsiderCandidatesThatMatchedEarlierOnes()
    {
        // libbpf narrows a local type's candidate list to the candidates that matched once any did: after "b" matched
        // only foo, "c" (which only foo___2 has) is no longer found.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 12, Member("a", i32, 0), Member("b", i32, 32), Member("c", i32, 64));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("foo", 8, Member("a", ti32, 0), Member("b", ti32, 32));
        t.AddStruct("foo___2", 8, Member("a", ti32, 0), Member("c", ti32, 32));
        var local = l.BuildSpec("l");
        var target = t.BuildSpec("t");

        var narrowed = new[] { MoveImmediate(1), MoveImmediate(1) };
        Relocate(narrowed, local, [target],
            new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldExists),
            new CoreRelocation(1, foo, "0:2", CoreRelocationKind.FieldExists));
        Assert.Equal(1, narrowed[0].Immediate);
        Assert.Equal(0, narrowed[1].Immediate);

        // Alone, "c" is found in foo___2.
        var alone = new[] { MoveImmediate(1) };
        RelocateOne(alone, new CoreRelocation(0, foo, "0:2", CoreRelocationKind.FieldExists), local, target);
        Assert.Equal(1, alone[0].Immediate);
    }

    [Fact]
    public void ModuleCandidatesAreUsedOnlyWhenVmlinuxHasNone()
    {
        var (local, foo) = LocalFoo();
        var v = new BtfBuilder();
        uint vi32 = v.AddInt("int", 4, BtfIntEncoding.Signed);
        v.AddStruct("other", 4, Member("a", vi32, 0));
        var vmlinux = v.BuildSpec("vmlinux");

        var m = new BtfBuilder(vmlinux);
        uint moduleFoo = m.AddStruct("foo", 16, Member("a", vi32, 0), Member("b", vi32, 96));
        var module = m.BuildSpec("my_module");

        var program = new[] { LoadWord(4) };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, vmlinux, module);
        Assert.Equal(12, program[0].Offset);
        Assert.Same(module, result.TargetSpec);
        Assert.Equal(moduleFoo, result.TargetTypeId);
    }

    [Fact]
    public void VmlinuxCandidateHidesModuleCandidates()
    {
        var (local, foo) = LocalFoo();
        var v = new BtfBuilder();
        uint vi32 = v.AddInt("int", 4, BtfIntEncoding.Signed);
        v.AddStruct("foo", 8, Member("a", vi32, 0), Member("b", vi32, 32));
        var vmlinux = v.BuildSpec("vmlinux");
        var m = new BtfBuilder(vmlinux);
        m.AddStruct("foo", 16, Member("a", vi32, 0), Member("b", vi32, 96));   // would disagree if it were considered
        var module = m.BuildSpec("my_module");

        var program = new[] { LoadWord(4) };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, vmlinux, module);
        Assert.Equal(4, program[0].Offset);
        Assert.Same(vmlinux, result.TargetSpec);
    }

    [Fact]
    public void TargetSpecIsOnlyReadNeverChanged()
    {
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        for (int i = 0; i < 20; i++)
            t.AddStruct($"filler{i}", 4, Member("z", ti32, 0));
        t.AddStruct("foo", 8, Member("b", ti32, 0), Member("a", ti32, 32));
        var target = t.BuildSpec("t");
        byte[] before = target.RawBytes.ToArray();

        // Decode everything first, remembering each instance.
        var instances = new Dictionary<uint, BtfType>();
        for (uint id = 1; id < target.NextTypeId; id++)
            instances[id] = target.GetType(id);
        int decoded = target.DecodedTypeCount;

        var program = new[] { LoadWord(4), LoadWord(0), MoveImmediate(8) };
        Relocate(program, local, [target],
            new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, foo, "0:0", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(2, foo, "0", CoreRelocationKind.TypeSize));
        Assert.Equal(0, program[0].Offset);
        Assert.Equal(4, program[1].Offset);

        Assert.Equal(decoded, target.DecodedTypeCount);
        for (uint id = 1; id < target.NextTypeId; id++)
            Assert.Same(instances[id], target.GetType(id));
        Assert.Equal(before, target.RawBytes.ToArray());
    }

    [Fact]
    public void RelocationDecodesOnlyTheTargetTypesItNeeds()
    {
        var (local, foo) = LocalFoo();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        for (int i = 0; i < 50; i++)
            t.AddStruct($"filler{i}", 4, Member("z", ti32, 0));
        t.AddStruct("foo", 8, Member("b", ti32, 0), Member("a", ti32, 32));
        var target = t.BuildSpec("t");

        var program = new[] { LoadWord(4) };
        RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(0, program[0].Offset);
        Assert.True(target.DecodedTypeCount < 10, $"{target.DecodedTypeCount} of {target.TypeCount} target types decoded");
    }
}
