using System.Text.Json;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

/// <summary>This kernel's BTF decoded by BtfSpec, compared with bpftool's reading of the same bytes.</summary>
public class VmlinuxBtfTests
{
    private static BtfSpec LoadPrivateCopy()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        // A private spec: decoding every type must not bloat the process-wide shared one.
        return BtfSpec.LoadFile(KernelBtf.VmlinuxPath);
    }

    private static string RequireBpftool()
    {
        var bpftool = BtfTools.Bpftool;
        Skip.If(bpftool is null, "bpftool is not installed");
        return bpftool!;
    }

    [SkippableFact]
    public void TypeCountMatchesBpftool()
    {
        var spec = LoadPrivateCopy();
        var (code, text, err) = BtfTools.Run(RequireBpftool(), "btf", "dump", "file", KernelBtf.VmlinuxPath);
        Assert.True(code == 0, err);
        int bpftoolCount = text.Split('\n').Count(line => line.StartsWith('['));
        Assert.Equal(bpftoolCount, spec.TypeCount);
        Assert.Equal((uint)bpftoolCount + 1, spec.NextTypeId);
    }

    [SkippableFact]
    public void EveryTypeMatchesBpftoolJson()
    {
        var spec = LoadPrivateCopy();
        var (code, json, err) = BtfTools.Run(RequireBpftool(), "-j", "btf", "dump", "file", KernelBtf.VmlinuxPath);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(json);
        var types = doc.RootElement.GetProperty("types");
        Assert.Equal(spec.TypeCount, types.GetArrayLength());

        var mismatches = new List<string>();
        var checkedKinds = new HashSet<BtfKind>();
        foreach (var j in types.EnumerateArray())
        {
            uint id = j.GetProperty("id").GetUInt32();
            var t = spec.GetType(id);
            checkedKinds.Add(t.Kind);
            Compare(spec, t, j, mismatches);
            if (mismatches.Count > 20)
                break;
        }
        Assert.Empty(mismatches);
        // Every kind this kernel uses was compared.
        Assert.Superset(new HashSet<BtfKind> { BtfKind.Int, BtfKind.Pointer, BtfKind.Array, BtfKind.Struct, BtfKind.Union, BtfKind.Enum,
            BtfKind.Fwd, BtfKind.Typedef, BtfKind.Volatile, BtfKind.Const, BtfKind.Func, BtfKind.FuncProto, BtfKind.Var, BtfKind.Datasec },
            checkedKinds);
        Assert.Equal(spec.TypeCount, spec.DecodedTypeCount);
    }

    [SkippableFact]
    public void NamedSamplesMatchBpftoolJson()
    {
        var spec = LoadPrivateCopy();
        var (code, json, err) = BtfTools.Run(RequireBpftool(), "-j", "btf", "dump", "file", KernelBtf.VmlinuxPath);
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(json);
        var byId = doc.RootElement.GetProperty("types").EnumerateArray().ToDictionary(e => e.GetProperty("id").GetUInt32());

        uint Named(string name, BtfKind kind) => Assert.Single(spec.FindByName(name), id => spec.GetKind(id) == kind);
        uint First(BtfKind kind, Func<BtfType, bool>? also = null) =>
            spec.Types.First(t => t.Kind == kind && (also is null || also(t))).Id;

        var samples = new Dictionary<string, uint>
        {
            ["task_struct"] = Named("task_struct", BtfKind.Struct),
            ["sk_buff"] = Named("sk_buff", BtfKind.Struct),
            ["union"] = First(BtfKind.Union, t => ((BtfComposite)t).Members.Length > 2),
            ["enum64"] = First(BtfKind.Enum64),
            ["func_proto"] = First(BtfKind.FuncProto, t => ((BtfFuncProto)t).Parameters.Length > 2),
            ["datasec"] = First(BtfKind.Datasec),
            ["signed enum"] = First(BtfKind.Enum, t => ((BtfEnum)t).IsSigned),
        };
        var mismatches = new List<string>();
        foreach (var (what, id) in samples)
        {
            Assert.True(byId.ContainsKey(id), what);
            Compare(spec, spec.GetType(id), byId[id], mismatches);
        }
        Assert.Empty(mismatches);

        // A few facts any reader of this kernel's task_struct would agree on.
        var task = (BtfComposite)spec.GetType(samples["task_struct"]);
        Assert.Contains(task.Members, m => m.Name == "pid");
        Assert.Equal(task.ByteSize, spec.SizeOf(task.Id));
        Assert.Contains(samples["task_struct"], spec.FindByEssentialName("task_struct"));
    }

    [SkippableFact]
    public void RetainedMemoryStaysWithinOneAndAHalfTimesTheRawBlob()
    {
        var spec = LoadPrivateCopy();
        uint task = spec.FindByName("task_struct").First(id => spec.GetKind(id) == BtfKind.Struct);
        spec.GetType(task);
        spec.FindByEssentialName("sk_buff");
        long raw = spec.RawBytes.Length;
        Assert.InRange(spec.RetainedBytesEstimate, raw, raw * 3 / 2);
        // The index itself is a small fraction of the blob.
        Assert.InRange(spec.NameIndex.RetainedBytes, 1, raw / 4);
    }

    private static void Compare(BtfSpec spec, BtfType t, JsonElement j, List<string> mismatches)
    {
        void Check<T>(string field, T expected, T actual)
        {
            if (!EqualityComparer<T>.Default.Equals(expected, actual))
                mismatches.Add($"[{t.Id}] {t.Kind} {t.Name}: {field} is {actual}, bpftool says {expected}");
        }
        static string Name(JsonElement e) => e.GetProperty("name").GetString() is "(anon)" ? "" : e.GetProperty("name").GetString()!;
        uint U(JsonElement e, string p) => e.GetProperty(p).GetUInt32();

        Check("kind", j.GetProperty("kind").GetString(), KindName(t.Kind));
        Check("name", Name(j), t.Name);
        switch (t)
        {
            case BtfInt i:
                Check("size", U(j, "size"), i.ByteSize);
                Check("bits_offset", U(j, "bits_offset"), (uint)i.BitOffset);
                Check("nr_bits", U(j, "nr_bits"), (uint)i.Bits);
                Check("encoding", j.GetProperty("encoding").GetString(), i.Encoding switch
                {
                    BtfIntEncoding.Signed => "SIGNED", BtfIntEncoding.Char => "CHAR", BtfIntEncoding.Bool => "BOOL", _ => "(none)",
                });
                break;
            case BtfReference r:
                Check("type_id", U(j, "type_id"), r.TypeId);
                break;
            case BtfArray a:
                Check("type_id", U(j, "type_id"), a.ElementTypeId);
                Check("index_type_id", U(j, "index_type_id"), a.IndexTypeId);
                Check("nr_elems", U(j, "nr_elems"), a.Count);
                break;
            case BtfComposite c:
                Check("size", U(j, "size"), c.ByteSize);
                var members = j.GetProperty("members").EnumerateArray().ToList();
                Check("vlen", members.Count, c.Members.Length);
                for (int k = 0; k < Math.Min(members.Count, c.Members.Length); k++)
                {
                    var (m, jm) = (c.Members[k], members[k]);
                    Check($"member {k} name", Name(jm), m.Name);
                    Check($"member {k} type", U(jm, "type_id"), m.TypeId);
                    Check($"member {k} bits_offset", U(jm, "bits_offset"), m.BitOffset);
                    Check($"member {k} bitfield_size", jm.TryGetProperty("bitfield_size", out var bs) ? bs.GetUInt32() : 0u, (uint)m.BitfieldSize);
                }
                break;
            case BtfEnum e:
                Check("size", U(j, "size"), e.ByteSize);
                Check("encoding", j.GetProperty("encoding").GetString(), e.IsSigned ? "SIGNED" : "UNSIGNED");
                var values = j.GetProperty("values").EnumerateArray().ToList();
                Check("vlen", values.Count, e.Values.Length);
                for (int k = 0; k < Math.Min(values.Count, e.Values.Length); k++)
                {
                    Check($"value {k} name", Name(values[k]), e.Values[k].Name);
                    // bpftool 7.1 prints an unsigned 32-bit enumerator sign-extended to 64 bits: compare the low 32 bits then.
                    string raw = values[k].GetProperty("val").GetRawText();
                    ulong theirs = raw.StartsWith('-') ? (ulong)long.Parse(raw) : ulong.Parse(raw);
                    ulong mine = (ulong)e.Values[k].Value;
                    if (!e.Is64)
                        (theirs, mine) = (theirs & 0xffff_ffff, mine & 0xffff_ffff);
                    Check($"value {k}", theirs, mine);
                    if (!e.Is64 && !e.IsSigned)
                        Check($"value {k} zero-extended", true, e.Values[k].Value is >= 0 and <= uint.MaxValue);
                    if (!e.Is64 && e.IsSigned)
                        Check($"value {k} sign-extended", true, e.Values[k].Value is >= int.MinValue and <= int.MaxValue);
                }
                break;
            case BtfFwd f:
                Check("fwd_kind", j.GetProperty("fwd_kind").GetString(), f.IsUnion ? "union" : "struct");
                break;
            case BtfFunc fn:
                Check("type_id", U(j, "type_id"), fn.ProtoTypeId);
                Check("linkage", j.GetProperty("linkage").GetString(), fn.Linkage.ToString().ToLowerInvariant());
                break;
            case BtfFuncProto p:
                Check("ret_type_id", U(j, "ret_type_id"), p.ReturnTypeId);
                var ps = j.GetProperty("params").EnumerateArray().ToList();
                Check("vlen", ps.Count, p.Parameters.Length);
                for (int k = 0; k < Math.Min(ps.Count, p.Parameters.Length); k++)
                {
                    Check($"param {k} name", Name(ps[k]), p.Parameters[k].Name);
                    Check($"param {k} type", U(ps[k], "type_id"), p.Parameters[k].TypeId);
                }
                break;
            case BtfVar v:
                Check("type_id", U(j, "type_id"), v.TypeId);
                Check("linkage", j.GetProperty("linkage").GetString(), v.Linkage switch
                {
                    BtfLinkage.Static => "static", BtfLinkage.Global => "global", _ => "extern",
                });
                break;
            case BtfDatasec d:
                Check("size", U(j, "size"), d.ByteSize);
                var vars = j.GetProperty("vars").EnumerateArray().ToList();
                Check("vlen", vars.Count, d.Variables.Length);
                for (int k = 0; k < Math.Min(vars.Count, d.Variables.Length); k++)
                    Check($"var {k}", (U(vars[k], "type_id"), U(vars[k], "offset"), U(vars[k], "size")),
                        (d.Variables[k].TypeId, d.Variables[k].Offset, d.Variables[k].Size));
                break;
            case BtfFloat fl:
                Check("size", U(j, "size"), fl.ByteSize);
                break;
            case BtfDeclTag dt:
                Check("type_id", U(j, "type_id"), dt.TypeId);
                Check("component_idx", j.GetProperty("component_idx").GetInt32(), dt.ComponentIndex);
                break;
        }
        _ = spec;
    }

    private static string KindName(BtfKind kind) => kind switch
    {
        BtfKind.Pointer => "PTR",
        BtfKind.FuncProto => "FUNC_PROTO",
        BtfKind.DeclTag => "DECL_TAG",
        BtfKind.TypeTag => "TYPE_TAG",
        _ => kind.ToString().ToUpperInvariant(),
    };
}
