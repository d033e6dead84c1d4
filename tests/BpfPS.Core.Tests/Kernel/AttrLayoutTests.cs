using System.Runtime.InteropServices;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

/// <summary>
/// The attr and info structs must match the kernel's uapi header byte for byte. The reference is the C compiler
/// reading /usr/include/linux/bpf.h, not our own numbers.
/// </summary>
public class AttrLayoutTests
{
    // (C expression, C# struct, C# field). For union bpf_attr the C side names the member as the header does.
    private static readonly (string C, Type Struct, string Field)[] Fields =
    [
        ("offsetof(union bpf_attr, map_type)", typeof(MapCreateAttr), nameof(MapCreateAttr.MapType)),
        ("offsetof(union bpf_attr, inner_map_fd)", typeof(MapCreateAttr), nameof(MapCreateAttr.InnerMapFd)),
        ("offsetof(union bpf_attr, numa_node)", typeof(MapCreateAttr), nameof(MapCreateAttr.NumaNode)),
        ("offsetof(union bpf_attr, map_name)", typeof(MapCreateAttr), nameof(MapCreateAttr.MapName)),
        ("offsetof(union bpf_attr, btf_fd)", typeof(MapCreateAttr), nameof(MapCreateAttr.BtfFd)),
        ("offsetof(union bpf_attr, btf_value_type_id)", typeof(MapCreateAttr), nameof(MapCreateAttr.BtfValueTypeId)),
        ("offsetof(union bpf_attr, btf_vmlinux_value_type_id)", typeof(MapCreateAttr), nameof(MapCreateAttr.BtfVmlinuxValueTypeId)),
        ("offsetof(union bpf_attr, map_extra)", typeof(MapCreateAttr), nameof(MapCreateAttr.MapExtra)),
        ("offsetof(union bpf_attr, map_fd)", typeof(MapElemAttr), nameof(MapElemAttr.MapFd)),
        ("offsetof(union bpf_attr, key)", typeof(MapElemAttr), nameof(MapElemAttr.Key)),
        ("offsetof(union bpf_attr, next_key)", typeof(MapElemAttr), nameof(MapElemAttr.ValueOrNextKey)),
        ("offsetof(union bpf_attr, flags)", typeof(MapElemAttr), nameof(MapElemAttr.Flags)),
        ("offsetof(union bpf_attr, batch.out_batch)", typeof(MapBatchAttr), nameof(MapBatchAttr.OutBatch)),
        ("offsetof(union bpf_attr, batch.count)", typeof(MapBatchAttr), nameof(MapBatchAttr.Count)),
        ("offsetof(union bpf_attr, batch.map_fd)", typeof(MapBatchAttr), nameof(MapBatchAttr.MapFd)),
        ("offsetof(union bpf_attr, batch.elem_flags)", typeof(MapBatchAttr), nameof(MapBatchAttr.ElemFlags)),
        ("offsetof(union bpf_attr, batch.flags)", typeof(MapBatchAttr), nameof(MapBatchAttr.Flags)),
        ("offsetof(union bpf_attr, insn_cnt)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.InsnCount)),
        ("offsetof(union bpf_attr, license)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.License)),
        ("offsetof(union bpf_attr, log_level)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogLevel)),
        ("offsetof(union bpf_attr, log_buf)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.LogBuf)),
        ("offsetof(union bpf_attr, kern_version)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.KernVersion)),
        ("offsetof(union bpf_attr, prog_name)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgName)),
        ("offsetof(union bpf_attr, expected_attach_type)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.ExpectedAttachType)),
        ("offsetof(union bpf_attr, prog_btf_fd)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.ProgBtfFd)),
        ("offsetof(union bpf_attr, func_info)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.FuncInfo)),
        ("offsetof(union bpf_attr, line_info_rec_size)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfoRecSize)),
        ("offsetof(union bpf_attr, line_info_cnt)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.LineInfoCount)),
        ("offsetof(union bpf_attr, attach_btf_id)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.AttachBtfId)),
        ("offsetof(union bpf_attr, attach_btf_obj_fd)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.AttachBtfObjFd)),
        ("offsetof(union bpf_attr, fd_array)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.FdArray)),
        ("offsetof(union bpf_attr, core_relo_rec_size)", typeof(ProgLoadAttr), nameof(ProgLoadAttr.CoreReloRecSize)),
        ("offsetof(union bpf_attr, pathname)", typeof(ObjPathAttr), nameof(ObjPathAttr.PathName)),
        ("offsetof(union bpf_attr, file_flags)", typeof(ObjPathAttr), nameof(ObjPathAttr.FileFlags)),
        ("offsetof(union bpf_attr, test.retval)", typeof(TestRunAttr), nameof(TestRunAttr.Retval)),
        ("offsetof(union bpf_attr, test.data_out)", typeof(TestRunAttr), nameof(TestRunAttr.DataOut)),
        ("offsetof(union bpf_attr, test.duration)", typeof(TestRunAttr), nameof(TestRunAttr.Duration)),
        ("offsetof(union bpf_attr, test.ctx_out)", typeof(TestRunAttr), nameof(TestRunAttr.CtxOut)),
        ("offsetof(union bpf_attr, test.batch_size)", typeof(TestRunAttr), nameof(TestRunAttr.BatchSize)),
        ("offsetof(union bpf_attr, next_id)", typeof(GetIdAttr), nameof(GetIdAttr.NextId)),
        ("offsetof(union bpf_attr, open_flags)", typeof(GetIdAttr), nameof(GetIdAttr.OpenFlags)),
        ("offsetof(union bpf_attr, info.info_len)", typeof(InfoAttr), nameof(InfoAttr.InfoLen)),
        ("offsetof(union bpf_attr, info.info)", typeof(InfoAttr), nameof(InfoAttr.Info)),
        ("offsetof(union bpf_attr, btf_size)", typeof(BtfLoadAttr), nameof(BtfLoadAttr.BtfSize)),
        ("offsetof(union bpf_attr, btf_log_level)", typeof(BtfLoadAttr), nameof(BtfLoadAttr.BtfLogLevel)),
        ("offsetof(union bpf_attr, prog_bind_map.flags)", typeof(ProgBindMapAttr), nameof(ProgBindMapAttr.Flags)),
        ("offsetof(struct bpf_prog_info, tag)", typeof(ProgInfoWire), nameof(ProgInfoWire.Tag)),
        ("offsetof(struct bpf_prog_info, xlated_prog_insns)", typeof(ProgInfoWire), nameof(ProgInfoWire.XlatedProgInsns)),
        ("offsetof(struct bpf_prog_info, nr_map_ids)", typeof(ProgInfoWire), nameof(ProgInfoWire.NrMapIds)),
        ("offsetof(struct bpf_prog_info, name)", typeof(ProgInfoWire), nameof(ProgInfoWire.Name)),
        ("offsetof(struct bpf_prog_info, netns_dev)", typeof(ProgInfoWire), nameof(ProgInfoWire.NetnsDev)),
        ("offsetof(struct bpf_prog_info, btf_id)", typeof(ProgInfoWire), nameof(ProgInfoWire.BtfId)),
        ("offsetof(struct bpf_prog_info, run_time_ns)", typeof(ProgInfoWire), nameof(ProgInfoWire.RunTimeNs)),
        ("offsetof(struct bpf_prog_info, run_cnt)", typeof(ProgInfoWire), nameof(ProgInfoWire.RunCnt)),
        ("offsetof(struct bpf_prog_info, verified_insns)", typeof(ProgInfoWire), nameof(ProgInfoWire.VerifiedInsns)),
        ("offsetof(struct bpf_prog_info, attach_btf_id)", typeof(ProgInfoWire), nameof(ProgInfoWire.AttachBtfId)),
        ("offsetof(struct bpf_map_info, name)", typeof(MapInfoWire), nameof(MapInfoWire.Name)),
        ("offsetof(struct bpf_map_info, btf_vmlinux_value_type_id)", typeof(MapInfoWire), nameof(MapInfoWire.BtfVmlinuxValueTypeId)),
        ("offsetof(struct bpf_map_info, btf_id)", typeof(MapInfoWire), nameof(MapInfoWire.BtfId)),
        ("offsetof(struct bpf_map_info, btf_value_type_id)", typeof(MapInfoWire), nameof(MapInfoWire.BtfValueTypeId)),
        ("offsetof(struct bpf_map_info, map_extra)", typeof(MapInfoWire), nameof(MapInfoWire.MapExtra)),
        ("offsetof(struct bpf_btf_info, id)", typeof(BtfInfoWire), nameof(BtfInfoWire.Id)),
        ("offsetof(struct bpf_btf_info, name_len)", typeof(BtfInfoWire), nameof(BtfInfoWire.NameLen)),
        ("offsetof(struct bpf_btf_info, kernel_btf)", typeof(BtfInfoWire), nameof(BtfInfoWire.KernelBtf)),
    ];

    private static readonly (string C, Type Struct)[] Sizes =
    [
        ("sizeof(union bpf_attr)", typeof(ProgLoadAttr)),
        ("sizeof(struct bpf_prog_info)", typeof(ProgInfoWire)),
        ("sizeof(struct bpf_map_info)", typeof(MapInfoWire)),
        ("sizeof(struct bpf_btf_info)", typeof(BtfInfoWire)),
    ];

    [SkippableFact]
    public void StructsMatchTheUapiHeaderAsCompiledByC()
    {
        Skip.IfNot(KernelTestSupport.HasTool("gcc"), "gcc is needed to read the uapi header layout");
        Skip.IfNot(File.Exists("/usr/include/linux/bpf.h"), "/usr/include/linux/bpf.h (linux-libc-dev) is not installed");

        var dir = Directory.CreateTempSubdirectory("bpfps-layout");
        try
        {
            var lines = Fields.Select(f => f.C).Concat(Sizes.Select(s => s.C)).Select(e => $"  printf(\"%zu\\n\", (size_t)({e}));");
            var source = "#include <stdio.h>\n#include <stddef.h>\n#include <linux/bpf.h>\nint main(void) {\n" + string.Join("\n", lines) + "\n  return 0;\n}\n";
            var c = Path.Combine(dir.FullName, "layout.c");
            var exe = Path.Combine(dir.FullName, "layout");
            File.WriteAllText(c, source);
            var (compileCode, compileOutput) = KernelTestSupport.Run("gcc", $"-o {exe} {c}");
            Assert.True(compileCode == 0, compileOutput);
            var (runCode, output) = KernelTestSupport.Run(exe, "");
            Assert.Equal(0, runCode);
            var values = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(long.Parse).ToArray();
            Assert.Equal(Fields.Length + Sizes.Length, values.Length);

            for (int i = 0; i < Fields.Length; i++)
                Assert.True(values[i] == (long)Marshal.OffsetOf(Fields[i].Struct, Fields[i].Field), $"{Fields[i].C}: C says {values[i]}, {Fields[i].Struct.Name}.{Fields[i].Field} is at {Marshal.OffsetOf(Fields[i].Struct, Fields[i].Field)}");
            for (int i = 0; i < Sizes.Length; i++)
                Assert.True(values[Fields.Length + i] == Marshal.SizeOf(Sizes[i].Struct), $"{Sizes[i].C}: C says {values[Fields.Length + i]}, {Sizes[i].Struct.Name} is {Marshal.SizeOf(Sizes[i].Struct)}");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Fact]
    public void EveryAttrStructIsAsLargeAsTheUnion()
    {
        foreach (var t in new[] { typeof(MapCreateAttr), typeof(MapElemAttr), typeof(MapBatchAttr), typeof(ProgLoadAttr), typeof(ObjPathAttr),
                     typeof(TestRunAttr), typeof(GetIdAttr), typeof(InfoAttr), typeof(BtfLoadAttr), typeof(EnableStatsAttr), typeof(ProgBindMapAttr) })
            Assert.Equal(BpfAttr.Size, Marshal.SizeOf(t));
    }
}
