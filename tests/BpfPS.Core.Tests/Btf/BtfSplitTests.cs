using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>Split BTF (a module over vmlinux): ids continue after the base's, string offsets after the base's strings.</summary>
public class BtfSplitTests
{
    private static (BtfSpec Base, uint Int, uint Task, uint TaskNameOffset) MakeBase()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint task = b.Struct("task_struct", 4, ("pid", i32, 0, 0));
        b.Struct("dup", 4);
        uint taskName = b.Str("task_struct");
        return (b.Parse("vmlinux"), i32, task, taskName);
    }

    [Fact]
    public void SplitIdsAndStringsContinueAfterTheBase()
    {
        var (vmlinux, i32, task, taskNameOff) = MakeBase();
        var m = new BtfBlob(vmlinux, [("task_struct", taskNameOff)]);
        uint ptr = m.Ptr(task);                                   // refers to a base type
        uint own = m.Struct("mod_state", 16, ("owner", ptr, 0, 0), ("count", i32, 64, 0));
        uint again = m.Struct("task_struct", 8);                  // named through the base's string section
        uint dup = m.Struct("dup", 8);
        var module = m.ParseSplit(vmlinux, "mod");

        Assert.Same(vmlinux, module.Base);
        Assert.Equal(vmlinux.NextTypeId, module.FirstTypeId);
        Assert.Equal(4u, module.FirstTypeId);
        Assert.Equal(4, module.TypeCount);
        Assert.Equal(8u, module.NextTypeId);

        // Base ids are answered by the base, with the base's instances.
        Assert.Same(vmlinux.GetType(task), module.GetType(task));
        Assert.Same(vmlinux, module.GetType(task).Spec);
        Assert.Same(vmlinux.GetType(0), module.GetType(0));
        Assert.Equal(BtfKind.Struct, module.GetKind(task));
        Assert.Equal("task_struct", module.GetName(task));

        var state = Assert.IsType<BtfComposite>(module.GetType(own));
        Assert.Same(module, state.Spec);
        Assert.Equal("mod_state", state.Name);
        Assert.Equal([new BtfMember("owner", ptr, 0, 0), new BtfMember("count", i32, 64, 0)], state.Members.AsEnumerable());
        Assert.Equal("task_struct", module.GetType(again).Name);
        Assert.Equal("task_struct", module.GetString(taskNameOff));
        Assert.Equal(4u, module.SizeOf(task));
        Assert.Equal(8u, module.SizeOf(ptr));
        Assert.Equal(task, module.SkipModsAndTypedefs(task));

        // Lookups search the base first, then the split spec.
        Assert.Equal([task, again], module.FindByName("task_struct"));
        Assert.Equal([task, again], module.FindByEssentialName("task_struct"));
        Assert.Equal([3u, dup], module.FindByName("dup"));
        Assert.Equal([own], module.FindByName("mod_state"));
        Assert.Equal([task], vmlinux.FindByName("task_struct"));
        Assert.Empty(vmlinux.FindByName("mod_state"));
        Assert.Equal([own, again, dup], module.Types.Select(t => t.Id).Skip(1));
        Assert.Equal(1, vmlinux.DecodedTypeCount);   // task_struct only: the rest was answered from raw bytes
    }

    [Fact]
    public void SplitStringSectionNeedNotStartEmpty()
    {
        var (vmlinux, i32, _, _) = MakeBase();
        var m = new BtfBlob(vmlinux);
        uint t = m.Typedef("modint", i32);
        var module = m.ParseSplit(vmlinux);
        Assert.Equal("modint", module.GetName(t));
        Assert.Equal("", module.GetString(0));
    }

    [Fact]
    public void SplitReferencesPastItsEndFail()
    {
        var (vmlinux, _, _, _) = MakeBase();
        var m = new BtfBlob(vmlinux);
        uint p = m.Ptr(50);
        var module = m.ParseSplit(vmlinux);
        Assert.Contains("refers to type 50", Assert.Throws<BpfFormatException>(() => module.GetType(p)).Reason);
        Assert.Throws<BpfFormatException>(() => module.GetType(module.NextTypeId));
    }

    [Fact]
    public void SplitOverSplitChains()
    {
        var (vmlinux, i32, _, _) = MakeBase();
        var m = new BtfBlob(vmlinux);
        uint a = m.Typedef("a_t", i32);
        var first = m.ParseSplit(vmlinux, "first");
        var n = new BtfBlob(first);
        uint b = n.Typedef("a_t", a);
        var second = n.ParseSplit(first, "second");
        Assert.Equal([a, b], second.FindByName("a_t"));
        Assert.Equal(4u, second.SizeOf(b));
        Assert.Equal(i32, second.SkipModsAndTypedefs(b));
        Assert.Same(first.GetType(a), second.GetType(a));
    }
}
