using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// Field relocations against hand-built BTF. Expected values are the byte offsets and sizes the test itself laid out
/// in the target BTF (C layout rules applied by hand), not values read back from the relocator.
/// </summary>
public class FieldRelocationTests
{
    // local:  struct foo { int a; int b; };                       b at byte 4
    // target: struct foo { long x; int a; unsigned short b; };    b at byte 12, 2 bytes, unsigned
    private static (BtfSpec Local, uint Foo, BtfSpec Target, uint TargetFoo) Foo(string localName = "foo")
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct(localName, 8, Member("a", i32, 0), Member("b", i32, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint tu16 = t.AddInt("unsigned short", 2);
        uint tfoo = t.AddStruct("foo", 16, Member("x", tlong, 0), Member("a", ti32, 64), Member("b", tu16, 96));
        return (l.BuildSpec("local.o"), foo, t.BuildSpec("vmlinux"), tfoo);
    }

    [Fact]
    public void ByteOffsetFollowsTheFieldInTheTarget()
    {
        var (local, foo, target, targetFoo) = Foo();
        var program = new[] { AddImmediate(4), Exit() };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteOffset), local, target);

        Assert.False(result.Poisoned);
        Assert.Equal(4ul, result.LocalValue);
        Assert.Equal(12ul, result.TargetValue);
        Assert.Equal(targetFoo, result.TargetTypeId);
        Assert.Same(target, result.TargetSpec);
        Assert.Equal(12, program[0].Immediate);
        Assert.Equal(Exit(), program[1]);
    }

    [Fact]
    public void FlavoredLocalStructMatchesThePlainTargetName()
    {
        var (local, foo, target, targetFoo) = Foo("foo___v2");
        var program = new[] { AddImmediate(0) };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:0", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(targetFoo, result.TargetTypeId);
        Assert.Equal(8, program[0].Immediate);
    }

    [Fact]
    public void ByteSizeAndSignednessComeFromTheTargetField()
    {
        var (local, foo, target, _) = Foo();
        var program = new[] { MoveImmediate(4), MoveImmediate(1) };
        var results = Relocate(program, local, [target],
            new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldByteSize),
            new CoreRelocation(1, foo, "0:1", CoreRelocationKind.FieldSigned));
        Assert.Equal(2, program[0].Immediate);   // unsigned short
        Assert.Equal(0, program[1].Immediate);   // unsigned in the target, signed locally
        Assert.Equal(1ul, results[1].LocalValue);
    }

    [Fact]
    public void ExistsIsOneForAPresentFieldAndZeroForAMissingOneWithoutPoisoning()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 12, Member("a", i32, 0), Member("b", i32, 32), Member("gone", i32, 64));
        var local = l.BuildSpec("local.o");
        var (_, _, target, _) = Foo();

        var program = new[] { MoveImmediate(1), MoveImmediate(1) };
        var results = Relocate(program, local, [target],
            new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldExists),
            new CoreRelocation(1, foo, "0:2", CoreRelocationKind.FieldExists));
        Assert.Equal(1, program[0].Immediate);
        Assert.Equal(0, program[1].Immediate);
        Assert.False(results[1].Poisoned);
        Assert.Equal(0xb7, program[1].OpCode);
    }

    [Fact]
    public void MissingFieldPoisonsTheOffsetInstructionAndSaysWhy()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 12, Member("a", i32, 0), Member("b", i32, 32), Member("gone", i32, 64));
        var local = l.BuildSpec("local.o");
        var (_, _, target, _) = Foo();

        var program = new[] { LoadWord(8), Exit() };
        var result = RelocateOne(program, new CoreRelocation(0, foo, "0:2", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.True(result.Poisoned);
        Assert.Equal(Poison, program[0]);
        Assert.Equal(Exit(), program[1]);
        Assert.Equal(8ul, result.LocalValue);
        Assert.Contains("foo.gone", result.Description);
        Assert.Contains("field not found in kernel BTF", result.Description);
        Assert.Contains("poisoned", result.Description);
    }

    [Fact]
    public void MissingTypePoisonsAndNamesTheType()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint bar = l.AddStruct("bar_not_in_kernel", 4, Member("a", i32, 0));
        var local = l.BuildSpec("local.o");
        var (_, _, target, _) = Foo();
        var program = new[] { LoadWord(0) };
        var result = RelocateOne(program, new CoreRelocation(0, bar, "0:0", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.True(result.Poisoned);
        Assert.Contains("struct bar_not_in_kernel", result.Description);
    }

    [Fact]
    public void FieldWithIncompatibleTypeIsNotAMatch()
    {
        // local b is an int; target b is a struct: not relocatable, so the field counts as missing.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 8, Member("a", i32, 0), Member("b", i32, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint inner = t.AddStruct("inner", 4, Member("v", ti32, 0));
        t.AddStruct("foo", 8, Member("a", ti32, 0), Member("b", inner, 32));
        var program = new[] { MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, foo, "0:1", CoreRelocationKind.FieldExists), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0, program[0].Immediate);
    }

    [Fact]
    public void RootIndexActsLikeAnArrayOfTheRootType()
    {
        // &p[1].b: local 8 + 4 = 12; target 16 + 12 = 28.
        var (local, foo, target, _) = Foo();
        var program = new[] { AddImmediate(12) };
        RelocateOne(program, new CoreRelocation(0, foo, "1:1", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(28, program[0].Immediate);
    }

    [Fact]
    public void ArrayElementAccessUsesTheTargetElementSize()
    {
        // local:  struct arr { int n; int v[4]; };         v[2] at 4 + 8 = 12, element 4 bytes
        // target: struct arr { long pad; long n; long v[8]; }  v[2] at 16 + 16 = 32, element 8 bytes
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint v = l.AddArray(i32, i32, 4);
        uint arr = l.AddStruct("arr", 20, Member("n", i32, 0), Member("v", v, 32));
        var t = new BtfBuilder();
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint tv = t.AddArray(tlong, tlong, 8);
        t.AddStruct("arr", 80, Member("pad", tlong, 0), Member("n", tlong, 64), Member("v", tv, 128));
        var local = l.BuildSpec("l");
        var target = t.BuildSpec("t");

        var program = new[] { AddImmediate(12), MoveImmediate(4), MoveImmediate(16) };
        Relocate(program, local, [target],
            new CoreRelocation(0, arr, "0:1:2", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, arr, "0:1:2", CoreRelocationKind.FieldByteSize),
            new CoreRelocation(2, arr, "0:1", CoreRelocationKind.FieldByteSize));
        Assert.Equal(32, program[0].Immediate);
        Assert.Equal(8, program[1].Immediate);
        Assert.Equal(64, program[2].Immediate);   // the whole array
    }

    [Fact]
    public void ArrayIndexPastTheTargetArrayIsNotFound()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint v = l.AddArray(i32, i32, 4);
        uint arr = l.AddStruct("arr", 16, Member("v", v, 0));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tv = t.AddArray(ti32, ti32, 2);
        t.AddStruct("arr", 8, Member("v", tv, 0));

        var program = new[] { AddImmediate(12), MoveImmediate(1) };
        var results = Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, arr, "0:0:3", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, arr, "0:0:3", CoreRelocationKind.FieldExists));
        Assert.True(results[0].Poisoned);
        Assert.Equal(0, program[1].Immediate);
    }

    [Fact]
    public void FlexibleArrayMemberAcceptsAnyIndex()
    {
        // struct flex { int n; int data[]; }: data[5] at 4 + 20 = 24 locally; target has a long n: 8 + 20 = 28.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint data = l.AddArray(i32, i32, 0);
        uint flex = l.AddStruct("flex", 4, Member("n", i32, 0), Member("data", data, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint tdata = t.AddArray(ti32, ti32, 0);
        t.AddStruct("flex", 8, Member("n", tlong, 0), Member("data", tdata, 64));
        var program = new[] { AddImmediate(24) };
        RelocateOne(program, new CoreRelocation(0, flex, "0:1:5", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(28, program[0].Immediate);
    }

    [Fact]
    public void TargetFieldInsideAnonymousMembersIsFound()
    {
        // local:  struct nest { int x; int y; };                                  y at 4
        // target: struct nest { int x; union { int z; }; struct { long pad; int y; }; }
        //         anonymous union at byte 4 (size 4), anonymous struct at byte 8: y at 8 + 8 = 16
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint nest = l.AddStruct("nest", 8, Member("x", i32, 0), Member("y", i32, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint union = t.AddUnion("", 4, Member("z", ti32, 0));
        uint inner = t.AddStruct("", 16, Member("pad", tlong, 0), Member("y", ti32, 64));
        t.AddStruct("nest", 24, Member("x", ti32, 0), Member("", union, 32), Member("", inner, 64));
        var program = new[] { LoadWord(4) };
        var result = RelocateOne(program, new CoreRelocation(0, nest, "0:1", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(16, program[0].Offset);
        Assert.Contains("(0:2:1 @ offset 16)", result.Description);   // the target's raw path runs through the anonymous struct
    }

    [Fact]
    public void LocalPathThroughAnonymousMemberMatchesAFlatTarget()
    {
        // local:  struct nest { int x; struct { int pad; int y; }; };   "0:1:1" -> y at 4 + 4 = 8
        // target: struct nest { int y; int x; };                        y at 0
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint inner = l.AddStruct("", 8, Member("pad", i32, 0), Member("y", i32, 32));
        uint nest = l.AddStruct("nest", 12, Member("x", i32, 0), Member("", inner, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("nest", 8, Member("y", ti32, 0), Member("x", ti32, 32));
        var program = new[] { LoadWord(8) };
        RelocateOne(program, new CoreRelocation(0, nest, "0:1:1", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0, program[0].Offset);
    }

    [Fact]
    public void NestedNamedStructsAndTypedefsAndQualifiersAreFollowed()
    {
        // local:  typedef struct outer { struct inner in; } outer_t; struct inner { int a; const volatile int b; };
        //         "0:0:1" -> in.b at 4
        // target: struct outer { long pad; struct inner in; }; struct inner { long a; typedef'd int b; }: in.b at 8 + 8 = 16
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint cvInt = l.AddConst(l.AddVolatile(i32));
        uint inner = l.AddStruct("inner", 8, Member("a", i32, 0), Member("b", cvInt, 32));
        uint outer = l.AddStruct("outer", 8, Member("in", inner, 0));
        uint outerT = l.AddTypedef("outer_t", outer);
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint s32 = t.AddTypedef("s32", ti32);
        uint tinner = t.AddStruct("inner", 16, Member("a", tlong, 0), Member("b", s32, 64));
        uint touter = t.AddStruct("outer", 24, Member("pad", tlong, 0), Member("in", tinner, 64));
        t.AddTypedef("outer_t", touter);
        var local = l.BuildSpec("l");
        var target = t.BuildSpec("t");

        var program = new[] { LoadWord(4), LoadWord(4) };
        var results = Relocate(program, local, [target],
            new CoreRelocation(0, outer, "0:0:1", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, outerT, "0:0:1", CoreRelocationKind.FieldByteOffset));
        Assert.Equal(16, program[0].Offset);
        Assert.Equal(16, program[1].Offset);   // a typedef root finds the target typedef and goes through it
        Assert.Equal(touter, results[0].TargetTypeId);
    }

    [Fact]
    public void PointerFieldsAreCompatibleWhateverTheyPointTo()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint ptr = l.AddPointer(i32);
        uint s = l.AddStruct("s", 16, Member("a", i32, 0), Member("p", ptr, 64));
        var t = new BtfBuilder();
        uint tchar = t.AddInt("char", 1, BtfIntEncoding.Signed);
        uint tptr = t.AddPointer(tchar);
        t.AddStruct("s", 24, Member("p", tptr, 128));
        var program = new[] { LoadDoubleWord(8), MoveImmediate(8) };
        Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, s, "0:1", CoreRelocationKind.FieldByteSize));
        Assert.Equal(16, program[0].Offset);
        Assert.Equal(8, program[1].Immediate);
    }
}
