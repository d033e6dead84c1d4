using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class BtfSpecDecodeTests
{
    [Fact]
    public void DecodesEveryKind()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);                         // 1
        uint u8 = b.Int("unsigned char", 1);                                      // 2
        uint ptr = b.Ptr(i32);                                                     // 3
        uint arr = b.Array(u8, i32, 16);                                           // 4
        uint st = b.Struct("pair", 8, ("a", i32, 0, 0), ("b", i32, 32, 0));        // 5
        uint bits = b.Struct("flags", 4, ("x", i32, 0, 3), ("y", i32, 3, 29));     // 6
        uint un = b.Union("either", 4, ("i", i32, 0, 0), ("c", u8, 0, 0));         // 7
        uint en = b.Enum("color", 4, signed: true, ("RED", -1), ("GREEN", 2));     // 8
        uint enu = b.Enum("big", 4, signed: false, ("TOP", 0xffff_fff0));          // 9
        uint e64 = b.Enum64("wide", 8, signed: false, ("HUGE", unchecked((long)0xfedc_ba98_7654_3210UL)));  // 10
        uint fwdS = b.Fwd("later");                                                // 11
        uint fwdU = b.Fwd("ulater", union: true);                                  // 12
        uint td = b.Typedef("myint", i32);                                         // 13
        uint vol = b.Volatile(i32);                                                // 14
        uint cst = b.Const(i32);                                                   // 15
        uint rst = b.Restrict(ptr);                                                // 16
        uint proto = b.FuncProto(i32, ("x", i32), ("", 0));                        // 17
        uint fn = b.Func("f", proto, BtfLinkage.Static);                           // 18
        uint v = b.Var("counter", i32, BtfLinkage.Global);                         // 19
        uint ds = b.Datasec(".data", 8, (v, 4, 4));                                // 20
        uint fl = b.Float("double", 8);                                            // 21
        uint tagSelf = b.DeclTag("kfunc", fn, -1);                                 // 22
        uint tagParam = b.DeclTag("nonnull", fn, 0);                               // 23
        uint tt = b.TypeTag("user", i32);                                          // 24
        var spec = b.Parse();

        Assert.Equal(24, spec.TypeCount);
        Assert.Equal(1u, spec.FirstTypeId);
        Assert.Equal(25u, spec.NextTypeId);

        var i = Assert.IsType<BtfInt>(spec.GetType(i32));
        Assert.Equal(("int", 4u, true, (byte)32, (byte)0), (i.Name, i.ByteSize, i.IsSigned, i.Bits, i.BitOffset));
        Assert.Equal(BtfIntEncoding.None, Assert.IsType<BtfInt>(spec.GetType(u8)).Encoding);

        var p = Assert.IsType<BtfReference>(spec.GetType(ptr));
        Assert.Equal((BtfKind.Pointer, i32, ""), (p.Kind, p.TypeId, p.Name));

        var a = Assert.IsType<BtfArray>(spec.GetType(arr));
        Assert.Equal((u8, i32, 16u), (a.ElementTypeId, a.IndexTypeId, a.Count));

        var s = Assert.IsType<BtfComposite>(spec.GetType(st));
        Assert.False(s.IsUnion);
        Assert.Equal(8u, s.Size);
        Assert.Equal([new BtfMember("a", i32, 0, 0), new BtfMember("b", i32, 32, 0)], s.Members.AsEnumerable());

        var bf = Assert.IsType<BtfComposite>(spec.GetType(bits));
        Assert.Equal([new BtfMember("x", i32, 0, 3), new BtfMember("y", i32, 3, 29)], bf.Members.AsEnumerable());

        var u = Assert.IsType<BtfComposite>(spec.GetType(un));
        Assert.True(u.IsUnion);
        Assert.Equal(BtfKind.Union, u.Kind);

        var e = Assert.IsType<BtfEnum>(spec.GetType(en));
        Assert.True(e.IsSigned);
        Assert.False(e.Is64);
        Assert.Equal([new BtfEnumValue("RED", -1), new BtfEnumValue("GREEN", 2)], e.Values.AsEnumerable());
        var eu = Assert.IsType<BtfEnum>(spec.GetType(enu));
        Assert.False(eu.IsSigned);
        Assert.Equal(0xffff_fff0L, eu.Values[0].Value);

        var w = Assert.IsType<BtfEnum>(spec.GetType(e64));
        Assert.True(w.Is64);
        Assert.Equal(BtfKind.Enum64, w.Kind);
        Assert.Equal(0xfedc_ba98_7654_3210UL, (ulong)w.Values[0].Value);

        Assert.False(Assert.IsType<BtfFwd>(spec.GetType(fwdS)).IsUnion);
        Assert.True(Assert.IsType<BtfFwd>(spec.GetType(fwdU)).IsUnion);

        Assert.Equal((BtfKind.Typedef, "myint", i32), Ref(spec, td));
        Assert.Equal((BtfKind.Volatile, "", i32), Ref(spec, vol));
        Assert.Equal((BtfKind.Const, "", i32), Ref(spec, cst));
        Assert.Equal((BtfKind.Restrict, "", ptr), Ref(spec, rst));
        Assert.Equal((BtfKind.TypeTag, "user", i32), Ref(spec, tt));

        var fp = Assert.IsType<BtfFuncProto>(spec.GetType(proto));
        Assert.Equal(i32, fp.ReturnTypeId);
        Assert.Equal([new BtfParameter("x", i32), new BtfParameter("", 0)], fp.Parameters.AsEnumerable());

        var f = Assert.IsType<BtfFunc>(spec.GetType(fn));
        Assert.Equal(("f", proto, BtfLinkage.Static), (f.Name, f.ProtoTypeId, f.Linkage));

        var va = Assert.IsType<BtfVar>(spec.GetType(v));
        Assert.Equal(("counter", i32, BtfLinkage.Global), (va.Name, va.TypeId, va.Linkage));

        var d = Assert.IsType<BtfDatasec>(spec.GetType(ds));
        Assert.Equal(".data", d.Name);
        Assert.Equal([new BtfVarSecInfo(v, 4, 4)], d.Variables.AsEnumerable());

        Assert.Equal(8u, Assert.IsType<BtfFloat>(spec.GetType(fl)).Size);
        Assert.Equal(-1, Assert.IsType<BtfDeclTag>(spec.GetType(tagSelf)).ComponentIndex);
        var tp = Assert.IsType<BtfDeclTag>(spec.GetType(tagParam));
        Assert.Equal(("nonnull", fn, 0), (tp.Name, tp.TypeId, tp.ComponentIndex));

        var voidType = spec.GetType(0);
        Assert.Equal(BtfKind.Void, voidType.Kind);
        Assert.Same(voidType, spec.GetType(0));
        Assert.All(spec.Types, t => Assert.Same(spec, t.Spec));
        Assert.Equal(Enumerable.Range(1, 24).Select(n => (uint)n), spec.Types.Select(t => t.Id));
    }

    private static (BtfKind, string, uint) Ref(BtfSpec spec, uint id)
    {
        var r = Assert.IsType<BtfReference>(spec.GetType(id));
        return (r.Kind, r.Name, r.TypeId);
    }

    [Fact]
    public void ParseDecodesNothingAndKindAndNameDoNotDecode()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint st = b.Struct("task", 4, ("pid", i32, 0, 0));
        var spec = b.Parse();
        Assert.Equal(0, spec.DecodedTypeCount);

        Assert.Equal(BtfKind.Struct, spec.GetKind(st));
        Assert.Equal("task", spec.GetName(st));
        Assert.Equal(BtfKind.Void, spec.GetKind(0));
        Assert.Equal("", spec.GetName(0));
        Assert.Equal(4u, spec.SizeOf(st));
        Assert.Equal(st, spec.SkipModsAndTypedefs(st));
        Assert.Equal([st], spec.FindByName("task"));
        Assert.Equal(0, spec.DecodedTypeCount);

        var t = spec.GetType(st);
        Assert.Equal(1, spec.DecodedTypeCount);
        Assert.Same(t, spec.GetType(st));
        Assert.Equal(1, spec.DecodedTypeCount);
        Assert.Same(t.Name, spec.GetName(st));
    }

    [Fact]
    public void NamesAreNotAllocatedTwice()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        uint st = b.Struct("task", 4, ("pid", i32, 0, 0));
        uint other = b.Struct("other", 4, ("pid", i32, 0, 0));
        var spec = b.Parse();
        string before = spec.GetName(st);
        Assert.Same(before, spec.GetName(st));
        Assert.Same(before, spec.GetType(st).Name);
        // Member names shared by several types come from the same string.
        Assert.Same(((BtfComposite)spec.GetType(st)).Members[0].Name, ((BtfComposite)spec.GetType(other)).Members[0].Name);
    }

    [Fact]
    public void TryGetTypeAnswersFalsePastTheEnd()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4);
        var spec = b.Parse();
        Assert.True(spec.TryGetType(i32, out var t));
        Assert.IsType<BtfInt>(t);
        Assert.True(spec.TryGetType(0, out var v));
        Assert.Equal(BtfKind.Void, v!.Kind);
        Assert.False(spec.TryGetType(2, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void SizeOfFollowsTypedefsModifiersAndArrays()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint td = b.Typedef("s32", i32);
        uint cst = b.Const(td);
        uint arr = b.Array(cst, i32, 10);
        uint arr2 = b.Array(arr, i32, 3);
        uint ptr = b.Ptr(arr2);
        uint st = b.Struct("s", 24, ("a", i32, 0, 0));
        uint v = b.Var("x", arr2);
        uint tag = b.TypeTag("user", st);
        var spec = b.Parse();

        Assert.Equal(4u, spec.SizeOf(cst));
        Assert.Equal(40u, spec.SizeOf(arr));
        Assert.Equal(120u, spec.SizeOf(arr2));
        Assert.Equal(8u, spec.SizeOf(ptr));
        Assert.Equal(24u, spec.SizeOf(tag));
        Assert.Equal(120u, spec.SizeOf(v));
        Assert.Equal(i32, spec.SkipModsAndTypedefs(cst));
        Assert.Equal(st, spec.SkipModsAndTypedefs(tag));
        Assert.Equal(arr, spec.SkipModsAndTypedefs(arr));
        Assert.Equal(0u, spec.SkipModsAndTypedefs(0));
        Assert.Equal(0, spec.DecodedTypeCount);
    }

    [Fact]
    public void EssentialNameFollowsLibbpf()
    {
        Assert.Equal("task_struct", BtfSpec.EssentialName("task_struct___old").ToString());
        Assert.Equal("a___b", BtfSpec.EssentialName("a___b___c").ToString());
        Assert.Equal("____fput", BtfSpec.EssentialName("____fput").ToString());
        Assert.Equal("foo___", BtfSpec.EssentialName("foo___").ToString());
        Assert.Equal("foo____x", BtfSpec.EssentialName("foo____x").ToString());
        Assert.Equal("", BtfSpec.EssentialName("").ToString());
    }
}
