using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>Enumerator relocations: found by (essential) name, values from the target, enum64 through ld_imm64.</summary>
public class EnumRelocationTests
{
    [Fact]
    public void EnumValueComesFromTheTargetEnumeratorOfTheSameName()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum("mode", 4, false, new BtfEnumValue("A", 1), new BtfEnumValue("B", 2));
        var t = new BtfBuilder();
        t.AddEnum("mode", 4, false, new BtfEnumValue("B", 5), new BtfEnumValue("A", 7));
        var program = LoadImm64(2).Concat(new[] { MoveImmediate(1) }).ToArray();
        var results = Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, e, "1", CoreRelocationKind.EnumValue),
            new CoreRelocation(2, e, "1", CoreRelocationKind.EnumValueExists));
        Assert.Equal(5ul, Imm64(program, 0));
        Assert.Equal(1, program[2].Immediate);
        Assert.Equal(2ul, results[0].LocalValue);
        Assert.Equal(5ul, results[0].TargetValue);
    }

    [Fact]
    public void FlavoredEnumeratorNameMatchesThePlainOne()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum("mode___new", 4, false, new BtfEnumValue("RENAMED___v2", 3));
        var t = new BtfBuilder();
        t.AddEnum("mode", 4, false, new BtfEnumValue("RENAMED", 9));
        var program = new[] { MoveImmediate(3) };
        RelocateOne(program, new CoreRelocation(0, e, "0", CoreRelocationKind.EnumValue), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(9, program[0].Immediate);
    }

    [Fact]
    public void MissingEnumeratorGivesExistsZeroAndPoisonsBothHalvesOfTheValueLoad()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum("mode", 4, false, new BtfEnumValue("A", 1), new BtfEnumValue("NEW_IN_7_0", 2));
        var t = new BtfBuilder();
        t.AddEnum("mode", 4, false, new BtfEnumValue("A", 1));
        var program = LoadImm64(2).Concat(new[] { MoveImmediate(1), Exit() }).ToArray();
        var results = Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, e, "1", CoreRelocationKind.EnumValue),
            new CoreRelocation(2, e, "1", CoreRelocationKind.EnumValueExists));
        Assert.True(results[0].Poisoned);
        Assert.Equal(Poison, program[0]);
        Assert.Equal(Poison, program[1]);
        Assert.Equal(0, program[2].Immediate);
        Assert.False(results[1].Poisoned);
        Assert.Equal(Exit(), program[3]);
        Assert.Contains("mode::NEW_IN_7_0", results[0].Description);
        Assert.Contains("enum value not found", results[0].Description);
    }

    [Fact]
    public void Enum64ValuesUseAllSixtyFourBits()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum64("big", 8, false, new BtfEnumValue("HUGE", 0x0000_0001_0000_0000));
        var t = new BtfBuilder();
        t.AddEnum64("big", 8, false, new BtfEnumValue("HUGE", 0x0000_0002_0000_0005));
        var program = LoadImm64(0x0000_0001_0000_0000);
        var result = RelocateOne(program, new CoreRelocation(0, e, "0", CoreRelocationKind.EnumValue), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0x0000_0002_0000_0005ul, Imm64(program, 0));
        Assert.Equal(5, program[0].Immediate);
        Assert.Equal(2, program[1].Immediate);
        Assert.Equal(0x0000_0001_0000_0000ul, result.LocalValue);
    }

    [Fact]
    public void LocalEnumFindsATargetEnum64AndViceVersa()
    {
        var l = new BtfBuilder();
        uint small = l.AddEnum("flags", 4, false, new BtfEnumValue("F", 4));
        uint wide = l.AddEnum64("wide", 8, false, new BtfEnumValue("W", 4));
        var t = new BtfBuilder();
        t.AddEnum64("flags", 8, false, new BtfEnumValue("F", 0x10_0000_0000));
        t.AddEnum("wide", 4, false, new BtfEnumValue("W", 6));
        var program = LoadImm64(4).Concat(LoadImm64(4)).ToArray();
        Relocate(program, l.BuildSpec("l"), [t.BuildSpec("t")],
            new CoreRelocation(0, small, "0", CoreRelocationKind.EnumValue),
            new CoreRelocation(2, wide, "0", CoreRelocationKind.EnumValue));
        Assert.Equal(0x10_0000_0000ul, Imm64(program, 0));
        Assert.Equal(6ul, Imm64(program, 2));
    }

    [Fact]
    public void ThirtyTwoBitEnumeratorIsSignExtendedLikeLibbpf()
    {
        // libbpf reads btf_enum.val as s32, so 0xffffffff becomes all ones in a 64-bit immediate.
        var l = new BtfBuilder();
        uint e = l.AddEnum("m", 4, false, new BtfEnumValue("ALL", 0xffffffff));
        var t = new BtfBuilder();
        t.AddEnum("m", 4, false, new BtfEnumValue("ALL", 0xfffffffe));
        var program = LoadImm64(ulong.MaxValue);
        RelocateOne(program, new CoreRelocation(0, e, "0", CoreRelocationKind.EnumValue), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0xffff_ffff_ffff_fffeul, Imm64(program, 0));
    }

    [Fact]
    public void EnumeratorIndexPastTheEnumIsMalformed()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum("mode", 4, false, new BtfEnumValue("A", 1));
        var t = new BtfBuilder();
        t.AddEnum("mode", 4, false, new BtfEnumValue("A", 1));
        var program = new[] { MoveImmediate(1) };
        var error = Assert.Throws<BpfFormatException>(() =>
            RelocateOne(program, new CoreRelocation(0, e, "3", CoreRelocationKind.EnumValue), l.BuildSpec("l"), t.BuildSpec("t")));
        Assert.Contains("enumerator", error.Message);
    }
}
