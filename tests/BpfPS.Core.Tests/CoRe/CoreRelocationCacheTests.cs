using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// The cache a load shares between its programs must not change any program's outcome: each program relocated with the
/// cache gives the instructions and results it gives alone. The cases are the ones where reusing a result would be wrong.
/// </summary>
public class CoreRelocationCacheTests
{
    // local:  struct foo { int a; int b; int c; };
    // target: struct foo { long x; int a; int b; };            (no c; b at byte 12)
    //         struct foo___2 { long x; int a; int b; int c; };  (b at byte 12 too, c at byte 16)
    // With flavors false, only the plain foo: one candidate, the case the cache remembers.
    private static (BtfSpec Local, uint Foo, BtfSpec Target, uint Plain, uint Flavor) Foo(bool flavors = true)
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 12, Member("a", i32, 0), Member("b", i32, 32), Member("c", i32, 64));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint plain = t.AddStruct("foo", 16, Member("x", tlong, 0), Member("a", ti32, 64), Member("b", ti32, 96));
        uint flavor = flavors ? t.AddStruct("foo___2", 20, Member("x", tlong, 0), Member("a", ti32, 64), Member("b", ti32, 96), Member("c", ti32, 128)) : 0;
        return (l.BuildSpec("local.o"), foo, t.BuildSpec("vmlinux"), plain, flavor);
    }

    /// <summary>Relocates each program alone, then all of them in order through one cache; both must agree.</summary>
    private static CoreRelocationResult[][] RelocateBothWays(BtfSpec local, BtfSpec target, params (BpfInstruction[] Code, CoreRelocation[] Relocations)[] programs)
    {
        var cache = new CoreRelocationCache(local, [target]);
        var results = new CoreRelocationResult[programs.Length][];
        for (int p = 0; p < programs.Length; p++)
        {
            var alone = (BpfInstruction[])programs[p].Code.Clone();
            var shared = (BpfInstruction[])programs[p].Code.Clone();
            var expected = CoreRelocator.Apply(alone, programs[p].Relocations, local, [target]);
            var actual = CoreRelocator.Apply(shared, programs[p].Relocations, local, [target], cache);
            Assert.Equal(alone, shared);
            Assert.Equal(expected.ToArray(), actual.ToArray());
            results[p] = actual.ToArray();
        }
        return results;
    }

    [Fact]
    public void RepeatedRelocationsGiveTheSameResultsThroughTheCache()
    {
        var (local, foo, target, plain, _) = Foo(flavors: false);
        var readA = new CoreRelocation(0, foo, "0:0", CoreRelocationKind.FieldByteOffset);
        var sizeOfB = new CoreRelocation(1, foo, "0:1", CoreRelocationKind.FieldByteSize);
        var results = RelocateBothWays(local, target,
            ([AddImmediate(0), MoveImmediate(4)], [readA, sizeOfB]),
            ([AddImmediate(0), MoveImmediate(4)], [readA, sizeOfB]),
            ([LoadWord(0), MoveImmediate(4)], [readA, sizeOfB]));
        Assert.All(results, r => Assert.Equal(8ul, r[0].TargetValue));
        Assert.All(results, r => Assert.Equal(plain, r[0].TargetTypeId));
        Assert.All(results, r => Assert.Equal(4ul, r[1].TargetValue));
    }

    [Fact]
    public void NarrowingInOneProgramDoesNotDecideTheCandidateOfTheNext()
    {
        // Program 1 first reads c, which only foo___2 has: its list narrows to foo___2, so its read of b names foo___2.
        // Program 2 reads only b: both flavors hold it at byte 12, and a fresh list chooses the first, plain foo.
        var (local, foo, target, plain, flavor) = Foo();
        var readC = new CoreRelocation(0, foo, "0:2", CoreRelocationKind.FieldByteOffset);
        var readB = new CoreRelocation(1, foo, "0:1", CoreRelocationKind.FieldByteOffset);
        var results = RelocateBothWays(local, target,
            ([AddImmediate(8), AddImmediate(4)], [readC, readB]),
            ([AddImmediate(0), AddImmediate(4)], [readB]));
        Assert.Equal(flavor, results[0][1].TargetTypeId);
        Assert.Equal(plain, results[1][0].TargetTypeId);
        Assert.Equal(12ul, results[1][0].TargetValue);
    }

    [Fact]
    public void ALoadOfAResizedFieldIsPoisonedEvenAfterAnAdditionWasNot()
    {
        // b shrinks from a signed int to a signed short: an address computation just moves (12), but a 4-byte load of it
        // cannot be narrowed safely, so libbpf poisons the load. The first program's clean result must not be reused.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 8, Member("a", i32, 0), Member("b", i32, 32));
        var t = new BtfBuilder();
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint ti16 = t.AddInt("short", 2, BtfIntEncoding.Signed);
        t.AddStruct("foo", 16, Member("x", tlong, 0), Member("b", ti16, 96));
        var (local, target) = (l.BuildSpec("local.o"), t.BuildSpec("vmlinux"));
        var relocation = new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset);

        var results = RelocateBothWays(local, target, ([AddImmediate(4)], [relocation]), ([LoadWord(4)], [relocation]));
        Assert.False(results[0][0].Poisoned);
        Assert.Equal(12ul, results[0][0].TargetValue);
        Assert.True(results[1][0].Poisoned);
    }

    [Fact]
    public void AnInstructionThatDoesNotHoldTheLocalValueIsStillRefused()
    {
        var (local, foo, target, _, _) = Foo();
        var relocation = new CoreRelocation(0, foo, "0:0", CoreRelocationKind.FieldByteOffset);
        var cache = new CoreRelocationCache(local, [target]);
        CoreRelocator.Apply([AddImmediate(0)], [relocation], local, [target], cache);
        var error = Assert.Throws<BpfFormatException>(() => CoreRelocator.Apply([AddImmediate(99)], [relocation], local, [target], cache));
        Assert.Contains("99", error.Message);
    }

    [Fact]
    public void ACacheBuiltForOtherSpecsIsNotConsulted()
    {
        var (local, foo, target, _, _) = Foo();
        var (otherLocal, _, otherTarget, _, _) = Foo();
        var cache = new CoreRelocationCache(otherLocal, [otherTarget]);
        Assert.False(cache.Serves(local, [target]));
        var result = CoreRelocator.Apply([AddImmediate(0)], [new CoreRelocation(0, foo, "0:0", CoreRelocationKind.FieldByteOffset)], local, [target], cache);
        Assert.Same(target, result[0].TargetSpec);
    }
}
