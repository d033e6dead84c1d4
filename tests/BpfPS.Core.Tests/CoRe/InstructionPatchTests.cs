using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>How outcomes are written into each instruction class, and what is refused as malformed.</summary>
public class InstructionPatchTests
{
    // local:  struct s { int a; unsigned int u; int i; void *p; };  u at 4, i at 8, p at 16
    // target: struct s { long pad; unsigned long u; long i; void *p; }: u at 8 (8 bytes), i at 16 (8 bytes), p at 24
    private static (BtfSpec Local, uint S, BtfSpec Target) Resized()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint u32 = l.AddInt("unsigned int", 4);
        uint ptr = l.AddPointer(0);
        uint s = l.AddStruct("s", 24, Member("a", i32, 0), Member("u", u32, 32), Member("i", i32, 64), Member("p", ptr, 128));
        var t = new BtfBuilder();
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint tulong = t.AddInt("unsigned long", 8);
        uint tptr = t.AddPointer(0);
        t.AddStruct("s", 32, Member("pad", tlong, 0), Member("u", tulong, 64), Member("i", tlong, 128), Member("p", tptr, 192));
        return (l.BuildSpec("local.o"), s, t.BuildSpec("t"));
    }

    [Fact]
    public void LoadOfAnUnsignedFieldThatGrewIsWidened()
    {
        var (local, s, target) = Resized();
        var program = new[] { LoadWord(4) };
        RelocateOne(program, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(8, program[0].Offset);
        Assert.Equal(0x79, program[0].OpCode);   // BPF_LDX | BPF_MEM | BPF_DW
        Assert.Equal(0, program[0].Dst);
        Assert.Equal(1, program[0].Src);
    }

    [Fact]
    public void LoadOfASignedFieldThatChangedSizeIsPoisoned()
    {
        var (local, s, target) = Resized();
        var program = new[] { LoadWord(8) };
        var result = RelocateOne(program, new CoreRelocation(0, s, "0:2", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.True(result.Poisoned);
        Assert.Equal(Poison, program[0]);
        Assert.Contains("cannot be resized", result.Description);
    }

    [Fact]
    public void AluUseOfAFieldThatChangedSizeIsNotPoisoned()
    {
        // Only loads and stores care about the access size; an address computation just takes the new offset.
        var (local, s, target) = Resized();
        var program = new[] { AddImmediate(8) };
        var result = RelocateOne(program, new CoreRelocation(0, s, "0:2", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.False(result.Poisoned);
        Assert.Equal(16, program[0].Immediate);
    }

    [Fact]
    public void PointerLoadKeepsItsSizeAndMovesOffset()
    {
        var (local, s, target) = Resized();
        var program = new[] { LoadDoubleWord(16) };
        RelocateOne(program, new CoreRelocation(0, s, "0:3", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(24, program[0].Offset);
        Assert.Equal(0x79, program[0].OpCode);
    }

    [Fact]
    public void StoreInstructionsAreRelocatedToo()
    {
        var (local, s, target) = Resized();
        var store = new BpfInstruction(0x63, 1, 2, 4, 0);        // BPF_STX | BPF_MEM | BPF_W: *(u32 *)(r1 + 4) = r2
        var storeImm = new BpfInstruction(0x62, 1, 0, 4, 7);     // BPF_ST | BPF_MEM | BPF_W: *(u32 *)(r1 + 4) = 7
        var program = new[] { store, storeImm };
        Relocate(program, local, [target],
            new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, s, "0:1", CoreRelocationKind.FieldByteOffset));
        Assert.Equal(8, program[0].Offset);
        Assert.Equal(0x7b, program[0].OpCode);   // resized to DW
        Assert.Equal(8, program[1].Offset);
        Assert.Equal(0x7a, program[1].OpCode);
        Assert.Equal(7, program[1].Immediate);
    }

    [Fact]
    public void InstructionThatDoesNotHoldTheLocalValueIsAnError()
    {
        var (local, s, target) = Resized();
        var program = new[] { LoadWord(12) };   // the object says u is at 4
        var error = Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Contains("#0", error.Message);
        Assert.Contains("struct s", error.Message);
        Assert.Contains("\"0:1\"", error.Message);
        Assert.Equal("local.o", error.File);
    }

    [Fact]
    public void LoadImm64MismatchIsAnError()
    {
        var (local, s, target) = Resized();
        var program = LoadImm64(99);
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
    }

    [Fact]
    public void LoadImm64CarriesAFieldOffset()
    {
        var (local, s, target) = Resized();
        var program = LoadImm64(4);
        RelocateOne(program, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target);
        Assert.Equal(8ul, Imm64(program, 0));
    }

    [Fact]
    public void RegisterAluAndJumpsCannotBeRelocated()
    {
        var (local, s, target) = Resized();
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([AddRegister()], new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([Exit()], new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
    }

    [Fact]
    public void OffsetBeyondTheSixteenBitFieldIsAnError()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint s = l.AddStruct("big", 8, Member("a", i32, 0), Member("far", i32, 32));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("big", 40004, Member("far", ti32, 40000 * 8));
        var program = new[] { LoadWord(4) };
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), t.BuildSpec("t")));

        var alu = new[] { AddImmediate(4) };   // an ALU immediate holds it fine
        RelocateOne(alu, new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(40000, alu[0].Immediate);
    }

    [Theory]
    [InlineData("")]
    [InlineData(":0")]
    [InlineData("0:")]
    [InlineData("0::1")]
    [InlineData("0:x")]
    [InlineData("-1")]
    [InlineData("0:7")]
    [InlineData("0:0:1")]
    [InlineData("0:99999999999")]
    public void MalformedAccessStringsAreRefused(string access)
    {
        var (local, s, target) = Resized();
        var program = new[] { LoadWord(4) };
        var error = Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, s, access, CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Equal("local.o", error.File);
        Assert.Equal(LoadWord(4), program[0]);
    }

    [Fact]
    public void TypeRelocationNeedsAccessStringZero()
    {
        var (local, s, target) = Resized();
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([MoveImmediate(1)], new CoreRelocation(0, s, "0:1", CoreRelocationKind.TypeExists), local, target));
    }

    [Fact]
    public void BadTypeIdInstructionIndexOrKindIsRefused()
    {
        var (local, s, target) = Resized();
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([LoadWord(4)], new CoreRelocation(0, 999, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([LoadWord(4)], new CoreRelocation(5, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([LoadWord(4)], new CoreRelocation(-1, s, "0:1", CoreRelocationKind.FieldByteOffset), local, target));
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([LoadWord(4)], new CoreRelocation(0, s, "0:1", (CoreRelocationKind)13), local, target));
    }

    [Fact]
    public void AnonymousLocalTypeIsRefusedForTargetKinds()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint anon = l.AddStruct("", 4, Member("a", i32, 0));
        var (_, _, target) = Resized();
        var error = Assert.Throws<BpfFormatException>(() =>
            RelocateOne([MoveImmediate(0)], new CoreRelocation(0, anon, "0:0", CoreRelocationKind.FieldByteOffset), l.BuildSpec("l"), target));
        Assert.Contains("anonymous", error.Message);
    }

    [Fact]
    public void ArrayStepOnANonArrayIsRefused()
    {
        // "0:0:0" steps into member a (an int) as if it were an array or struct.
        var (local, s, target) = Resized();
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([LoadWord(0)], new CoreRelocation(0, s, "0:0:0", CoreRelocationKind.FieldByteOffset), local, target));
    }

    [Fact]
    public void SignedOrShiftOfAnArrayElementIsRefused()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint arr = l.AddArray(i32, i32, 4);
        uint s = l.AddStruct("s", 16, Member("v", arr, 0));
        var (_, _, target) = Resized();
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([MoveImmediate(1)], new CoreRelocation(0, s, "0:0:1", CoreRelocationKind.FieldSigned), l.BuildSpec("l"), target));
    }

    [Fact]
    public void NoTargetsIsAnArgumentErrorUnlessOnlyLocalIdsAreAsked()
    {
        var (local, s, _) = Resized();
        Assert.Throws<ArgumentException>(() =>
            RelocateOne([LoadWord(4)], new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldByteOffset), local));
        var program = new[] { MoveImmediate(0) };
        RelocateOne(program, new CoreRelocation(0, s, "0", CoreRelocationKind.TypeIdLocal), local);
        Assert.Equal((int)s, program[0].Immediate);
    }

    [Fact]
    public void NoRelocationsChangeNothing()
    {
        var (local, _, target) = Resized();
        var program = new[] { LoadWord(4) };
        Assert.Empty(Relocate(program, local, [target]));
        Assert.Equal(LoadWord(4), program[0]);
    }

    [Fact]
    public void DeeplyNestedAnonymousMembersAreBounded()
    {
        // A target whose anonymous member contains itself would recurse forever without the 64-level bound.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint loop = l.AddStruct("loop", 4, Member("x", i32, 0));
        var t = new BtfBuilder();
        uint self = t.NextTypeId;
        t.AddStruct("loop", 4, Member("", self, 0));
        var local = l.BuildSpec("l");
        // A decoder may already refuse the cycle; either way the answer is a format error, not a stack overflow.
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([MoveImmediate(1)], new CoreRelocation(0, loop, "0:0", CoreRelocationKind.FieldExists), local, t.BuildSpec("t")));
    }

    [Fact]
    public void CyclicTypedefsInTheTargetAreAFormatError()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint c = l.AddTypedef("cyc", i32);
        var t = new BtfBuilder();
        uint first = t.NextTypeId;
        t.AddTypedef("cyc", first + 1);
        t.AddTypedef("cyc2", first);
        var local = l.BuildSpec("l");
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne([MoveImmediate(1)], new CoreRelocation(0, c, "0", CoreRelocationKind.TypeExists), local, t.BuildSpec("t")));
    }
}
