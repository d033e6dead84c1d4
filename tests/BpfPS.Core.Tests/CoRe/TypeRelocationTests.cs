using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>Type-based relocations: exists, size, local and target ids, and the stricter "matches".</summary>
public class TypeRelocationTests
{
    [Fact]
    public void TypeExistsSizeAndTargetIdResolveAgainstTheTarget()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint foo = l.AddStruct("foo", 4, Member("a", i32, 0));
        uint missing = l.AddStruct("nowhere", 4, Member("a", i32, 0));
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("unrelated", 4, Member("q", ti32, 0));
        uint tfoo = t.AddStruct("foo", 24, Member("a", ti32, 0));
        var local = l.BuildSpec("l");
        var target = t.BuildSpec("t");

        var program = new[] { MoveImmediate(1), MoveImmediate(4), MoveImmediate(12345), MoveImmediate(1), MoveImmediate(4), MoveImmediate(1) };
        var results = Relocate(program, local, [target],
            new CoreRelocation(0, foo, "0", CoreRelocationKind.TypeExists),
            new CoreRelocation(1, foo, "0", CoreRelocationKind.TypeSize),
            new CoreRelocation(2, foo, "0", CoreRelocationKind.TypeIdTarget),
            new CoreRelocation(3, missing, "0", CoreRelocationKind.TypeExists),
            new CoreRelocation(4, missing, "0", CoreRelocationKind.TypeSize),
            new CoreRelocation(5, foo, "0", CoreRelocationKind.TypeMatches));

        Assert.Equal(1, program[0].Immediate);
        Assert.Equal(24, program[1].Immediate);
        Assert.Equal((int)tfoo, program[2].Immediate);   // the target id is not validated: linking may renumber it
        Assert.Equal(0, program[3].Immediate);
        Assert.Equal(0, program[4].Immediate);
        Assert.Equal(1, program[5].Immediate);
        Assert.All(results, r => Assert.False(r.Poisoned));
        Assert.Equal(0u, results[3].TargetTypeId);
    }

    [Fact]
    public void LocalTypeIdNeedsNoTargetAtAll()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint anon = l.AddStruct("", 4, Member("a", i32, 0));
        var program = new[] { MoveImmediate(0) };
        var result = RelocateOne(program, new CoreRelocation(0, anon, "0", CoreRelocationKind.TypeIdLocal), l.BuildSpec("l"));
        Assert.Equal((int)anon, program[0].Immediate);
        Assert.Equal((ulong)anon, result.TargetValue);
    }

    [Fact]
    public void TypeSizeOfATypedefFollowsTheTargetTypedef()
    {
        var l = new BtfBuilder();
        uint u32 = l.AddInt("unsigned int", 4);
        uint pid = l.AddTypedef("pid_t", u32);
        var t = new BtfBuilder();
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        t.AddTypedef("pid_t", tlong);
        var program = new[] { MoveImmediate(4) };
        RelocateOne(program, new CoreRelocation(0, pid, "0", CoreRelocationKind.TypeSize), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(8, program[0].Immediate);
    }

    [Fact]
    public void TypeExistsRequiresCompatibleKindsAfterTypedefs()
    {
        // local typedef u64 -> int; target typedef u64 -> struct: typedef names pair up, but int vs struct is incompatible.
        var l = new BtfBuilder();
        uint i64 = l.AddInt("unsigned long long", 8);
        uint u64 = l.AddTypedef("u64", i64);
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint ts = t.AddStruct("s", 4, Member("a", ti32, 0));
        t.AddTypedef("u64", ts);
        var program = new[] { MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, u64, "0", CoreRelocationKind.TypeExists), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0, program[0].Immediate);
    }

    // local: struct task { int pid; struct task *parent; };
    private static (BtfBuilder Builder, uint Task) LocalTask()
    {
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint fwd = l.AddFwd("task");
        uint ptr = l.AddPointer(fwd);
        uint task = l.AddStruct("task", 16, Member("pid", i32, 0), Member("parent", ptr, 64));
        return (l, task);
    }

    [Fact]
    public void TypeMatchesAcceptsATargetWithExtraMembersAndAFwdBehindAPointer()
    {
        var (l, task) = LocalTask();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        uint tlong = t.AddInt("long", 8, BtfIntEncoding.Signed);
        uint ttask = t.NextTypeId + 1;
        uint tptr = t.AddPointer(ttask);
        t.AddStruct("task", 24, Member("state", tlong, 0), Member("parent", tptr, 64), Member("pid", ti32, 128));
        var program = new[] { MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, task, "0", CoreRelocationKind.TypeMatches), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(1, program[0].Immediate);
    }

    [Fact]
    public void TypeMatchesRejectsAMemberOfDifferentSizeOrSignedness()
    {
        var (l, task) = LocalTask();
        var local = l.BuildSpec("l");
        foreach (var (size, encoding) in new[] { (8u, BtfIntEncoding.Signed), (4u, BtfIntEncoding.None) })
        {
            var t = new BtfBuilder();
            uint tpid = t.AddInt("int", size, encoding);   // same name, so only size or signedness differ
            uint tfwd = t.AddFwd("task");
            uint tptr = t.AddPointer(tfwd);
            t.AddStruct("task", 16, Member("pid", tpid, 0), Member("parent", tptr, 64));
            var program = new[] { MoveImmediate(1) };
            var result = RelocateOne(program, new CoreRelocation(0, task, "0", CoreRelocationKind.TypeMatches), local, t.BuildSpec("t"));
            Assert.Equal(0, program[0].Immediate);
            Assert.Contains("no matching type", result.Description);

            // The looser "exists" still finds it.
            var exists = new[] { MoveImmediate(1) };
            RelocateOne(exists, new CoreRelocation(0, task, "0", CoreRelocationKind.TypeExists), local, t.BuildSpec("t"));
            Assert.Equal(1, exists[0].Immediate);
        }
    }

    [Fact]
    public void TypeMatchesRejectsAMissingMember()
    {
        var (l, task) = LocalTask();
        var t = new BtfBuilder();
        uint ti32 = t.AddInt("int", 4, BtfIntEncoding.Signed);
        t.AddStruct("task", 4, Member("pid", ti32, 0));
        var program = new[] { MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, task, "0", CoreRelocationKind.TypeMatches), l.BuildSpec("l"), t.BuildSpec("t"));
        Assert.Equal(0, program[0].Immediate);
    }

    [Fact]
    public void TypeMatchesForEnumsComparesNamesAndSizeNotValues()
    {
        var l = new BtfBuilder();
        uint e = l.AddEnum("state", 4, false, new BtfEnumValue("RUNNING", 0), new BtfEnumValue("STOPPED___old", 1));
        var local = l.BuildSpec("l");

        var same = new BtfBuilder();
        same.AddEnum64("state", 4, false, new BtfEnumValue("STOPPED", 7), new BtfEnumValue("DEAD", 8), new BtfEnumValue("RUNNING", 9));
        var other = new BtfBuilder();
        other.AddEnum("state", 4, false, new BtfEnumValue("RUNNING", 0));

        var program = new[] { MoveImmediate(1), MoveImmediate(1) };
        RelocateOne(program, new CoreRelocation(0, e, "0", CoreRelocationKind.TypeMatches), local, same.BuildSpec("same"));
        RelocateOne(program, new CoreRelocation(1, e, "0", CoreRelocationKind.TypeMatches), local, other.BuildSpec("other"));
        Assert.Equal(1, program[0].Immediate);
        Assert.Equal(0, program[1].Immediate);
    }
}
