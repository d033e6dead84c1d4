using BpfPS.Core.Btf;
using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// Hand-built BTF that once made the C text writers (BtfCDeclaration, used by Get-BtfType, and BtfCHeaderWriter) crash
/// the host or run away: found by the BTF fuzz target (padding and sharing) and by reading the recursion it exposed
/// (embedding chains, prototype cycles). Each must now end in a BpfFormatException or in small text, quickly.
/// </summary>
public class CDeclarationHardeningTests
{
    /// <summary>Runs on a 256 KiB stack, smaller than any host's, so unbounded recursion shows as a crash here first.</summary>
    private static Exception? OnSmallStack(Action action)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try { action(); }
            catch (Exception e) { failure = e; }
        }, 256 * 1024);
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)), "formatting did not finish within 30 s");
        return failure;
    }

    [Fact]
    public void LongEmbeddingChainIsRefusedNotAStackOverflow()
    {
        var b = new BtfBuilder();
        uint inner = b.AddInt("int", 4, BtfIntEncoding.Signed);
        for (int i = 0; i < 5000; i++)
            inner = b.AddStruct("s" + i, 4, new BtfMember("m", inner, 0, 0));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCDeclaration.Format(spec, inner));

        Assert.IsType<BpfFormatException>(e);
        Assert.Contains("embed each other deeper than", e!.Message);
    }

    [Fact]
    public void PrototypeThatTakesAPointerToItselfIsRefused()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint pointer = b.AddPointer(b.NextTypeId + 1);           // points at the prototype added next
        uint proto = b.AddFuncProto(i32, new BtfParameter("self", pointer));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCDeclaration.Format(spec, proto));

        Assert.IsType<BpfFormatException>(e);
        Assert.Contains("prototypes nest deeper than", e!.Message);
    }

    [Fact]
    public void AnonymousStructsThatContainEachOtherAreRefused()
    {
        var b = new BtfBuilder();
        uint first = b.NextTypeId + 1, second = first + 1;
        uint named = b.AddStruct("outer", 8, new BtfMember("a", first, 0, 0));
        b.AddStruct("", 8, new BtfMember("b", second, 0, 0));
        b.AddStruct("", 8, new BtfMember("c", first, 0, 0));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCDeclaration.Format(spec, named));

        Assert.IsType<BpfFormatException>(e);
    }

    [Fact]
    public void HugeGapIsPaddedWithOneArrayNotMillionsOfLines()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint big = b.AddStruct("big", 0xfffffff0, new BtfMember("first", i32, 0, 0), new BtfMember("last", i32, 0xffffff00, 0));
        var spec = b.BuildSpec();
        long before = GC.GetAllocatedBytesForCurrentThread();

        string text = BtfCDeclaration.Format(spec, big);

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20, "formatting allocated over 1 MiB");
        Assert.Contains("char __pad_4[", text);
        Assert.Contains("int last;", text);
        Assert.True(text.Length < 1000, text);
    }

    [Fact]
    public void SharedAnonymousStructsCannotGrowTheTextExponentially()
    {
        // Level k is an anonymous struct with two members of level k-1: written inline, the text doubles per level.
        var b = new BtfBuilder();
        uint level = b.AddStruct("", 4, new BtfMember("x", b.AddInt("int", 4, BtfIntEncoding.Signed), 0, 0));
        for (int k = 0; k < 40; k++)
            level = b.AddStruct("", 8, new BtfMember("l", level, 0, 0), new BtfMember("r", level, 0, 0));
        uint top = b.AddStruct("top", 8, new BtfMember("t", level, 0, 0));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCDeclaration.Format(spec, top));

        Assert.IsType<BpfFormatException>(e);
        Assert.Contains("C text is longer than", e!.Message);
    }

    [Fact]
    public void HeaderWriterSurvivesTheSameShapes()
    {
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint inner = i32;
        for (int i = 0; i < 5000; i++)
            inner = b.AddStruct("s" + i, 4, new BtfMember("m", inner, 0, 0));
        uint pointer = b.AddPointer(b.NextTypeId + 1);
        b.AddFuncProto(i32, new BtfParameter("self", pointer));
        b.AddStruct("big", 0xfffffff0, new BtfMember("first", i32, 0, 0));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCHeaderWriter.Write(spec, TextWriter.Null));

        Assert.True(e is null or BpfFormatException, e?.ToString());
    }

    [Fact]
    public void HeaderWriterRefusesPointerAndModifierCycles()
    {
        // Found by the BTF fuzz target: a pointer that (through another) points at itself sent the header writer's
        // ordering into unbounded recursion, a stack overflow that killed the process even on its 64 MiB stack.
        var b = new BtfBuilder();
        uint i32 = b.AddInt("int", 4, BtfIntEncoding.Signed);
        uint first = b.NextTypeId;
        b.AddPointer(first + 1);
        b.AddConst(first);
        b.AddTypedef("loop_t", first);
        b.AddStruct("holder", 8, new BtfMember("p", first + 2, 0, 0), new BtfMember("i", i32, 0, 0));
        var spec = b.BuildSpec();

        var e = OnSmallStack(() => BtfCHeaderWriter.Write(spec, TextWriter.Null));

        Assert.IsType<BpfFormatException>(e);
    }

    [Fact]
    public void BitfieldOfAHugeTypeDoesNotDivideByZero()
    {
        // Found by AFL++ (btf-afl-crash-2a5b3af7cd93): the storage unit of a bitfield whose type is 2^29 bytes, in bits,
        // wrapped to 0 in 32-bit arithmetic: DivideByZeroException from the packing check.
        var b = new BtfBuilder();
        uint huge = b.AddStruct("huge", 0x20000000);
        uint holder = b.AddStruct("holder", 8, new BtfMember("bits", huge, 3, 5));
        var spec = b.BuildSpec();

        var e = Record.Exception(() => BtfCDeclaration.Format(spec, holder));

        Assert.True(e is null or BpfFormatException, e?.ToString());
    }

    [Fact]
    public void BtfFuzzTargetWalksTheFixturesWithoutFault()
    {
        // The walk the fuzzer does must succeed on valid input, or every finding would be noise.
        foreach (var (name, bytes) in FuzzCorpus.Objects)
            foreach (var seed in FuzzSeeds.For(FuzzTargets.BtfTarget, [(name, bytes)]))
                FuzzTargets.BtfTarget.RunEncoded(seed.Blobs[0]);
    }
}
