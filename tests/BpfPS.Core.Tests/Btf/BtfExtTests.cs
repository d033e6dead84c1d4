using System.Buffers.Binary;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class BtfExtTests
{
    /// <summary>An object's BTF with a func, a struct and the strings .BTF.ext refers to.</summary>
    private sealed class Fixture
    {
        public readonly BtfSpec Btf;
        public readonly uint Func, Struct, TextName, XdpName, FileName, LineText, Access;

        public Fixture()
        {
            var b = new BtfBlob();
            uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
            Struct = b.Struct("task_struct", 8, ("pid", i32, 0, 0), ("tgid", i32, 32, 0));
            Func = b.Func("prog", b.FuncProto(i32, ("ctx", b.Ptr(0))));
            TextName = b.Str(".text");
            XdpName = b.Str("xdp");
            FileName = b.Str("/src/prog.c");
            LineText = b.Str("return 0;");
            Access = b.Str("0:1");
            Btf = b.Parse("prog.o:.BTF");
        }
    }

    /// <summary>Builds .BTF.ext: a header of <paramref name="headerLength"/> bytes then the given info blocks, each a record size and blocks.</summary>
    private static byte[] Ext(uint[]? funcInfo, uint[]? lineInfo, uint[]? coreRelo, uint headerLength = 32)
    {
        var body = new List<uint>();
        var offsets = new List<(uint Off, uint Len)>();
        foreach (var info in new[] { funcInfo, lineInfo, coreRelo })
        {
            offsets.Add(info is null ? (0, 0) : ((uint)body.Count * 4, (uint)info.Length * 4));
            if (info is not null) body.AddRange(info);
        }
        var blob = new byte[headerLength + body.Count * 4];
        BinaryPrimitives.WriteUInt16LittleEndian(blob, 0xEB9F);
        blob[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(4), headerLength);
        for (int i = 0; i < 3 && 8 + i * 8 + 8 <= headerLength; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8 + i * 8), offsets[i].Off);
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12 + i * 8), offsets[i].Len);
        }
        for (int i = 0; i < body.Count; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan((int)headerLength + i * 4), body[i]);
        return blob;
    }

    [Fact]
    public void ParsesFuncLineAndCoreRecordsPerSection()
    {
        var f = new Fixture();
        var ext = Ext(
            funcInfo: [8, f.TextName, 2, 0, f.Func, 80, f.Func, f.XdpName, 1, 0, f.Func],
            lineInfo: [16, f.TextName, 1, 16, f.FileName, f.LineText, (12u << 10) | 5],
            coreRelo: [16, f.XdpName, 2, 24, f.Struct, f.Access, 0, 40, f.Struct, f.Access, 8]);
        var parsed = BtfExt.Parse(ext, f.Btf, "prog.o");

        Assert.Equal(8u, parsed.FuncInfoRecordSize);
        Assert.Equal(16u, parsed.LineInfoRecordSize);
        Assert.Equal([".text", "xdp"], parsed.Sections.Keys.Order(StringComparer.Ordinal));
        var text = parsed.Sections[".text"];
        Assert.Equal([new BtfFuncInfo(0, f.Func), new BtfFuncInfo(10, f.Func)], text.FuncInfos.AsEnumerable());
        var line = Assert.Single(text.LineInfos.AsEnumerable());
        Assert.Equal((2, f.FileName, f.LineText, 12u, 5u), (line.InstructionOffset, line.FileNameOffset, line.LineOffset, line.Line, line.Column));
        Assert.Equal("/src/prog.c", f.Btf.GetString(line.FileNameOffset));
        Assert.Empty(text.CoreRelocations.AsEnumerable());

        var xdp = parsed.Sections["xdp"];
        Assert.Equal([new BtfFuncInfo(0, f.Func)], xdp.FuncInfos.AsEnumerable());
        Assert.Equal(
            [new CoreRelocation(3, f.Struct, "0:1", CoreRelocationKind.FieldByteOffset), new CoreRelocation(5, f.Struct, "0:1", CoreRelocationKind.TypeExists)],
            xdp.CoreRelocations.AsEnumerable());
    }

    [Fact]
    public void LargerRecordsAreSkippedByTheirSize()
    {
        var f = new Fixture();
        // Records of 12 bytes: the reader uses the first 8 and steps by 12.
        var parsed = BtfExt.Parse(Ext([12, f.TextName, 2, 0, f.Func, 0xdead, 16, f.Func, 0xbeef], null, null), f.Btf, "prog.o");
        Assert.Equal(12u, parsed.FuncInfoRecordSize);
        Assert.Equal([new BtfFuncInfo(0, f.Func), new BtfFuncInfo(2, f.Func)], parsed.Sections[".text"].FuncInfos.AsEnumerable());
    }

    [Fact]
    public void HeaderWithoutCoreReloPart()
    {
        var f = new Fixture();
        var parsed = BtfExt.Parse(Ext([8, f.TextName, 1, 8, f.Func], null, null, headerLength: 24), f.Btf, "prog.o");
        Assert.Equal([new BtfFuncInfo(1, f.Func)], parsed.Sections[".text"].FuncInfos.AsEnumerable());
        Assert.Equal(16u, parsed.LineInfoRecordSize);
        var empty = BtfExt.Parse(Ext(null, null, null), f.Btf, "prog.o");
        Assert.Empty(empty.Sections);
    }

    private static void Fails(byte[] ext, BtfSpec btf, string reason)
    {
        var e = Assert.Throws<BpfFormatException>(() => BtfExt.Parse(ext, btf, "prog.o"));
        Assert.Equal("prog.o", e.File);
        Assert.Equal(".BTF.ext", e.Section);
        Assert.Contains(reason, e.Reason);
    }

    [Fact]
    public void MalformedHeaders()
    {
        var f = new Fixture();
        var good = Ext([8, f.TextName, 1, 0, f.Func], null, null);
        Fails(good[..6], f.Btf, "truncated header");
        var bad = (byte[])good.Clone();
        bad[0] = 0;
        Fails(bad, f.Btf, "bad magic");
        bad = (byte[])good.Clone();
        bad[2] = 3;
        Fails(bad, f.Btf, "unsupported version 3");
        Fails(BtfBlob.Patch(good, 4, 16), f.Btf, "header length 16");
        Fails(BtfBlob.Patch(good, 12, 4000), f.Btf, "runs past the end");
        Fails(BtfBlob.Patch(good, 8, 0xffff_fffc), f.Btf, "runs past the end");
    }

    [Fact]
    public void RecordSizesBelowTheMinimum()
    {
        var f = new Fixture();
        Fails(Ext([4, f.TextName, 1, 0], null, null), f.Btf, "func_info record size 4");
        Fails(Ext([10, f.TextName, 1, 0, 0, 0], null, null), f.Btf, "func_info record size 10");
        Fails(Ext(null, [12, f.TextName, 1, 0, 0, 0], null), f.Btf, "line_info record size 12");
        Fails(Ext(null, null, [8, f.TextName, 1, 0, 0]), f.Btf, "core_relo record size 8");
        Fails(BtfBlob.Patch(Ext([8], null, null), 12, 2), f.Btf, "too short");
    }

    [Fact]
    public void CountsMustFitTheLength()
    {
        var f = new Fixture();
        Fails(Ext([8, f.TextName, 3, 0, f.Func, 8, f.Func], null, null), f.Btf, "claims 3 records");
        Fails(Ext([8, f.TextName, 0], null, null), f.Btf, "no records");
        Fails(Ext([8, f.TextName, 1, 0, f.Func, f.TextName], null, null), f.Btf, "block header is truncated");
    }

    [Fact]
    public void SectionNamesAndReferencesMustResolve()
    {
        var f = new Fixture();
        Fails(Ext([8, 9999, 1, 0, f.Func], null, null), f.Btf, "section name offset 9999");
        Fails(Ext([8, 0, 1, 0, f.Func], null, null), f.Btf, "empty section name");
        Fails(Ext([8, f.TextName, 1, 0, 999], null, null), f.Btf, "type id 999");
        Fails(Ext([8, f.TextName, 1, 4, f.Func], null, null), f.Btf, "not a multiple of 8");
        Fails(Ext(null, [16, f.TextName, 1, 0, 9999, f.LineText, 0], null), f.Btf, "string offset 9999");
        Fails(Ext(null, null, [16, f.TextName, 1, 0, f.Struct, 9999, 0]), f.Btf, "access string does not resolve");
        Fails(Ext(null, null, [16, f.TextName, 1, 0, f.Struct, f.Access, 99]), f.Btf, "kind 99");
        Fails(Ext(null, null, [16, f.TextName, 1, 0, 999, f.Access, 0]), f.Btf, "type id 999");
    }
}
