using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class BtfNameLookupTests
{
    [Fact]
    public void ExactAndEssentialLookups()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        uint task = b.Struct("task_struct", 4, ("pid", i32, 0, 0));
        uint old = b.Struct("task_struct___old", 4, ("tgid", i32, 0, 0));
        uint fwd = b.Fwd("task_struct");
        uint other = b.Struct("task_structs", 4);
        uint fput = b.Func("____fput", b.FuncProto(0));
        uint twoFlavours = b.Struct("a___b___c", 4);
        uint anon = b.Struct("", 4);
        var spec = b.Parse();

        Assert.Equal([task, fwd], spec.FindByName("task_struct"));
        Assert.Equal([old], spec.FindByName("task_struct___old"));
        // Grouped by full name, ascending inside each name.
        Assert.Equal([task, fwd, old], spec.FindByEssentialName("task_struct"));
        Assert.Equal([other], spec.FindByName("task_structs"));
        Assert.Equal([fput], spec.FindByName("____fput"));
        Assert.Equal([fput], spec.FindByEssentialName("____fput"));
        Assert.Equal([twoFlavours], spec.FindByEssentialName("a___b"));
        Assert.Empty(spec.FindByEssentialName("a"));
        Assert.Empty(spec.FindByName("task"));
        Assert.Empty(spec.FindByName("task_struct___"));
        Assert.Empty(spec.FindByName(""));
        Assert.Empty(spec.FindByEssentialName(""));
        Assert.Equal([i32], spec.FindByName("int"));
        Assert.Equal(0, spec.DecodedTypeCount);
        _ = anon;
    }

    [Fact]
    public void FlavoursAreFoundWhereverTheyLieInTheStringSection()
    {
        // The scan for "___" reads the strings a vector at a time: put a flavour separator at every position of a
        // 64-byte block, behind names full of single and double underscores.
        for (int pad = 0; pad < 64; pad++)
        {
            var b = new BtfBlob();
            uint i32 = b.Int("int", 4);
            b.Typedef("__x_y__z" + new string('_', pad % 2) + new string('a', pad), i32);
            uint plain = b.Struct("conn", 4, ("a", i32, 0, 0));
            uint flavour = b.Struct("conn___init", 4, ("a", i32, 0, 0));
            var spec = b.Parse();
            Assert.Equal([plain, flavour], spec.FindByEssentialName("conn"));
            Assert.Equal([flavour], spec.FindByName("conn___init"));
            Assert.Equal([plain], spec.FindByName("conn"));
        }
    }

    [Fact]
    public void ResultsAreReadOnlyViews()
    {
        var b = new BtfBlob();
        uint a = b.Struct("dup", 4);
        uint c = b.Struct("dup", 8);
        var spec = b.Parse();
        var ids = spec.FindByName("dup");
        Assert.IsNotType<uint[]>(ids);
        Assert.Equal(2, ids.Count);
        Assert.Equal(a, ids[0]);
        Assert.Equal(c, ids[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ids[2]);
        Assert.Throws<ArgumentOutOfRangeException>(() => ids[-1]);
        // Same answer every time: the index is read-only.
        Assert.Equal(ids, spec.FindByName("dup"));
    }

    [Fact]
    public void ManyNamesAndCollisionsStillResolve()
    {
        // Enough names to make the table grow past its first guess, and names of every length around the 8-byte
        // word the hash reads at a time.
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        var expected = new Dictionary<string, List<uint>>();
        for (int i = 0; i < 5000; i++)
        {
            string name = new string((char)('a' + i % 26), 1 + i % 23) + (i / 26);
            uint id = i % 3 == 0 ? b.Ptr(i32) : b.Typedef(name, i32);
            if (i % 3 != 0)
                (expected.TryGetValue(name, out var l) ? l : expected[name] = new()).Add(id);
        }
        var spec = b.Parse();
        foreach (var (name, ids) in expected)
            Assert.Equal(ids, spec.FindByName(name));
        Assert.Empty(spec.FindByName("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"));
    }

    [Fact]
    public void NamesNearTheEndOfTheBlobAndNonAscii()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        uint u = b.Typedef("größe", i32);
        uint longName = b.Typedef(new string('x', 700), i32);
        uint last = b.Typedef("z", i32);
        var spec = b.Parse();
        Assert.Equal([u], spec.FindByName("größe"));
        Assert.Equal("größe", spec.GetName(u));
        Assert.Equal([longName], spec.FindByName(new string('x', 700)));
        Assert.Equal([last], spec.FindByName("z"));
    }

    [Fact]
    public void WarmLookupsDoNotAllocateBeyondTheResult()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        b.Struct("task_struct", 4, ("pid", i32, 0, 0));
        var spec = b.Parse();
        spec.FindByName("task_struct");
        spec.FindByEssentialName("missing");
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            spec.FindByEssentialName("missing");
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
            spec.FindByName("task_struct");
        // One small read-only list object per hit, nothing else.
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before <= 100 * 48);
    }
}
