using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// Bitfield relocations. A bitfield is read with the smallest aligned load (starting at its declared type's size) that
/// covers all its bits, then shifted: on little-endian, value = (load &lt;&lt; lshift) &gt;&gt; rshift with
/// lshift = 64 - (end bit within the load) and rshift = 64 - width (the BPF_CORE_READ_BITFIELD recipe in bpf_core_read.h).
/// </summary>
public class BitfieldRelocationTests
{
    // local:  struct flags { unsigned int a:3; unsigned int b:5; unsigned int c:20; };      c = bits [8, 28)
    // target: struct flags { unsigned int x:30; unsigned int a:3; unsigned int c:6; int z; }
    //         c = bits [33, 39): load 4 bytes at 4 (bits 32..63), end bit 39 - 32 = 7 -> lshift 57, rshift 58
    private static (BtfSpec Local, uint Flags, BtfSpec Target) Flags()
    {
        var l = new BtfBuilder();
        uint u32 = l.AddInt("unsigned int", 4);
        uint flags = l.AddStruct("flags", 4, Member("a", u32, 0, 3), Member("b", u32, 3, 5), Member("c", u32, 8, 20));
        var t = new BtfBuilder();
        uint tu32 = t.AddInt("unsigned int", 4);
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("flags", 12, Member("x", tu32, 0, 30), Member("a", tu32, 30, 3), Member("c", tu32, 33, 6), Member("z", ti32, 64));
        return (l.BuildSpec("l"), flags, t.BuildSpec("t"));
    }

    [Fact]
    public void ShiftsOffsetAndSizeOfABitfieldFollowTheTarget()
    {
        var (local, flags, target) = Flags();
        // Local values: c = bits [8, 28) of a 4-byte load at 0: lshift 64 - 28 = 36, rshift 64 - 20 = 44.
        var program = new[] { LoadWord(0), MoveImmediate(4), MoveImmediate(36), MoveImmediate(44), MoveImmediate(0) };
        var results = Relocate(program, local, [target],
            new CoreRelocation(0, flags, "0:2", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, flags, "0:2", CoreRelocationKind.FieldByteSize),
            new CoreRelocation(2, flags, "0:2", CoreRelocationKind.FieldLShiftU64),
            new CoreRelocation(3, flags, "0:2", CoreRelocationKind.FieldRShiftU64),
            new CoreRelocation(4, flags, "0:2", CoreRelocationKind.FieldSigned));

        Assert.Equal(4, program[0].Offset);
        Assert.Equal(0x61, program[0].OpCode);   // bitfield loads are not resized
        Assert.Equal(4, program[1].Immediate);
        Assert.Equal(57, program[2].Immediate);
        Assert.Equal(58, program[3].Immediate);
        Assert.Equal(0, program[4].Immediate);
        Assert.Equal(36ul, results[2].LocalValue);
        Assert.Equal(44ul, results[3].LocalValue);
        Assert.All(results, r => Assert.False(r.Poisoned));
    }

    [Fact]
    public void BitfieldStraddlingItsTypeSizeWidensTheLoad()
    {
        // target: struct flags { unsigned int a:30; unsigned int c:6 __attribute__((packed)) } modelled as c = bits [30, 36):
        // a 4-byte load at 0 ends at bit 32 < 36, so the load doubles to 8 bytes at 0: lshift 64 - 36 = 28, rshift 58.
        var (local, flags, _) = Flags();
        var t = new BtfBuilder();
        uint tu32 = t.AddInt("unsigned int", 4);
        t.AddStruct("flags", 8, Member("a", tu32, 0, 30), Member("c", tu32, 30, 6));
        var target = t.BuildSpec("t");

        var program = new[] { MoveImmediate(0), MoveImmediate(4), MoveImmediate(36) };
        Relocate(program, local, [target],
            new CoreRelocation(0, flags, "0:2", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, flags, "0:2", CoreRelocationKind.FieldByteSize),
            new CoreRelocation(2, flags, "0:2", CoreRelocationKind.FieldLShiftU64));
        Assert.Equal(0, program[0].Immediate);
        Assert.Equal(8, program[1].Immediate);
        Assert.Equal(28, program[2].Immediate);
    }

    [Fact]
    public void BitfieldValuesAreNotCheckedAgainstTheInstructionExceptTheUnambiguousOnes()
    {
        // Offsets, sizes and left shifts of bitfields may legitimately differ from clang's choice; right shift and
        // signedness may not.
        var (local, flags, target) = Flags();
        var program = new[] { MoveImmediate(999), MoveImmediate(999) };
        Relocate(program, local, [target],
            new CoreRelocation(0, flags, "0:2", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, flags, "0:2", CoreRelocationKind.FieldLShiftU64));
        Assert.Equal(4, program[0].Immediate);
        Assert.Equal(57, program[1].Immediate);

        var wrongShift = new[] { MoveImmediate(999) };
        Assert.Throws<BpfFormatException>(() =>
            RelocateOne(wrongShift, new CoreRelocation(0, flags, "0:2", CoreRelocationKind.FieldRShiftU64), local, target));
    }

    [Fact]
    public void PlainFieldShiftsCoverTheWholeField()
    {
        // A non-bitfield u16 at byte 6 read through a 2-byte load: lshift 64 - 16 = 48, rshift 48.
        var l = new BtfBuilder();
        uint u16 = l.AddInt("unsigned short", 2);
        uint s = l.AddStruct("s", 8, Member("pad", u16, 0), Member("v", u16, 48));
        var t = new BtfBuilder();
        uint tu16 = t.AddInt("unsigned short", 2);
        t.AddStruct("s", 8, Member("v", tu16, 48));
        var program = new[] { MoveImmediate(48), MoveImmediate(48) };
        Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, s, "0:1", CoreRelocationKind.FieldLShiftU64),
            new CoreRelocation(1, s, "0:1", CoreRelocationKind.FieldRShiftU64));
        Assert.Equal(48, program[0].Immediate);
        Assert.Equal(48, program[1].Immediate);
    }

    [Fact]
    public void SignedBitfieldReportsSigned()
    {
        var l = new BtfBuilder();
        uint u32 = l.AddInt("unsigned int", 4);
        uint s = l.AddStruct("sb", 4, Member("v", u32, 0, 4));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("sb", 4, Member("v", ti32, 4, 4));
        var program = new[] { MoveImmediate(0) };
        RelocateOne(program, new CoreRelocation(0, s, "0:0", CoreRelocationKind.FieldSigned), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(1, program[0].Immediate);
    }
}
