using System.Buffers.Binary;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

/// <summary>
/// PROG_LOAD gets func_info and line_info records straight from the spec's arrays (no copy per program), so their bytes
/// must be exactly struct bpf_func_info { u32 insn_off; u32 type_id; } and struct bpf_line_info { u32 insn_off;
/// u32 file_name_off; u32 line_off; u32 line_col; } from the uapi header, little-endian.
/// </summary>
public class ExtInfoBytesTests
{
    [Fact]
    public void FuncInfoRecordsAreTheKernelsLayout()
    {
        BtfFuncInfo[] infos = [new(0, 7), new(42, 0x01020304)];
        var bytes = BpfSyscall.FuncInfoBytes(infos).ToArray();

        Assert.Equal(2 * 8, bytes.Length);
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal(BpfSyscall.MarshalFuncInfos(infos), bytes);
    }

    [Fact]
    public void LineInfoRecordsAreTheKernelsLayout()
    {
        BtfLineInfo[] infos = [new(3, 11, 22, (17u << 10) | 5), new(9, 0xa0, 0xb0, 0xc0)];
        var bytes = BpfSyscall.LineInfoBytes(infos).ToArray();

        Assert.Equal(2 * 16, bytes.Length);
        Assert.Equal(new uint[] { 3, 11, 22, (17u << 10) | 5, 9, 0xa0, 0xb0, 0xc0 },
            Enumerable.Range(0, 8).Select(i => BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4 * i))).ToArray());
        Assert.Equal(BpfSyscall.MarshalLineInfos(infos), bytes);
    }
}
