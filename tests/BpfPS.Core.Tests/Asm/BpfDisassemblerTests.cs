using BpfPS.Core.Asm;

namespace BpfPS.Core.Tests.Asm;

// Expected texts follow the format strings of the kernel's kernel/bpf/disasm.c (print_bpf_insn), which is what the
// verifier log and bpftool print; the instruction encodings follow uapi/linux/bpf.h.
public class BpfDisassemblerTests
{
    private static BpfInstruction I(byte op, byte dst, byte src, short off, int imm) => new(op, dst, src, off, imm);

    private static string One(params BpfInstruction[] insns) => BpfDisassembler.FormatInstruction(insns, 0);

    [Theory]
    [InlineData(0xbf, 6, 1, 0, 0, "r6 = r1")]            // BPF_ALU64 | BPF_MOV | BPF_X
    [InlineData(0xb7, 0, 0, 0, 0, "r0 = 0")]             // BPF_ALU64 | BPF_MOV | BPF_K
    [InlineData(0xb4, 0, 0, 0, -1, "w0 = -1")]           // BPF_ALU | BPF_MOV | BPF_K
    [InlineData(0x07, 10, 0, 0, -8, "r10 += -8")]        // BPF_ALU64 | BPF_ADD | BPF_K
    [InlineData(0x0c, 1, 2, 0, 0, "w1 += w2")]           // BPF_ALU | BPF_ADD | BPF_X
    [InlineData(0x67, 1, 0, 0, 32, "r1 <<= 32")]
    [InlineData(0xc7, 1, 0, 0, 32, "r1 s>>= 32")]
    [InlineData(0x87, 3, 0, 0, 0, "r3 = -r3")]           // BPF_ALU64 | BPF_NEG
    [InlineData(0x84, 3, 0, 0, 0, "w3 = -w3")]
    [InlineData(0xdc, 2, 0, 0, 16, "r2 = be16 r2")]      // BPF_ALU | BPF_END | BPF_TO_BE
    [InlineData(0xd4, 2, 0, 0, 32, "r2 = le32 r2")]
    [InlineData(0xd7, 2, 0, 0, 64, "r2 = bswap64 r2")]   // BPF_ALU64 | BPF_END (cpu v4)
    [InlineData(0xbf, 1, 2, 8, 0, "r1 = (s8)r2")]        // movsx
    [InlineData(0x3f, 1, 2, 1, 0, "r1 s/= r2")]          // sdiv
    [InlineData(0x9f, 1, 2, 0, 0, "r1 %= r2")]
    [InlineData(0x61, 1, 6, 4, 0, "r1 = *(u32 *)(r6 +4)")]     // BPF_LDX | BPF_MEM | BPF_W
    [InlineData(0x79, 1, 10, -8, 0, "r1 = *(u64 *)(r10 -8)")]
    [InlineData(0x91, 1, 2, 0, 0, "r1 = *(s8 *)(r2 +0)")]      // BPF_LDX | BPF_MEMSX | BPF_B
    [InlineData(0x63, 10, 1, -4, 0, "*(u32 *)(r10 -4) = r1")]  // BPF_STX | BPF_MEM | BPF_W
    [InlineData(0x62, 10, 0, -4, 7, "*(u32 *)(r10 -4) = 7")]   // BPF_ST | BPF_MEM | BPF_W
    [InlineData(0x6b, 10, 0, -2, 0, "*(u16 *)(r10 -2) = r0")]
    [InlineData(0xdb, 1, 2, 0, 0x00, "lock *(u64 *)(r1 +0) += r2")]                      // BPF_STX | BPF_ATOMIC | BPF_DW, BPF_ADD
    [InlineData(0xc3, 1, 2, 0, 0x01, "r2 = atomic_fetch_add((u32 *)(r1 +0), r2)")]      // BPF_ADD | BPF_FETCH
    [InlineData(0xdb, 1, 2, 8, 0xe1, "r2 = atomic64_xchg((u64 *)(r1 +8), r2)")]
    [InlineData(0xdb, 1, 2, 0, 0xf1, "r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)")]
    [InlineData(0x20, 0, 0, 0, 12, "r0 = *(u32 *)skb[12]")]    // BPF_LD | BPF_ABS | BPF_W
    [InlineData(0x50, 0, 3, 0, 2, "r0 = *(u8 *)skb[r3 + 2]")]  // BPF_LD | BPF_IND | BPF_B
    [InlineData(0x95, 0, 0, 0, 0, "exit")]
    [InlineData(0x85, 0, 0, 0, 1, "call bpf_map_lookup_elem#1")]
    [InlineData(0x85, 0, 0, 0, 181, "call bpf_loop#181")]
    [InlineData(0x85, 0, 0, 0, 100000, "call unknown#100000")]
    [InlineData(0x85, 0, 2, 0, 1234, "call kfunc#1234")]
    [InlineData(0x05, 0, 0, 3, 0, "goto pc+3 <4>")]
    [InlineData(0x15, 0, 0, 5, 0, "if r0 == 0x0 goto pc+5 <6>")]
    [InlineData(0x55, 1, 0, -1, -1, "if r1 != 0xffffffff goto pc-1 <0>")]
    [InlineData(0x2d, 1, 2, 2, 0, "if r1 > r2 goto pc+2 <3>")]
    [InlineData(0xa6, 1, 0, 2, 10, "if w1 < 0xa goto pc+2 <3>")]   // BPF_JMP32 | BPF_JLT | BPF_K
    [InlineData(0xcd, 1, 2, 2, 0, "if r1 s< r2 goto pc+2 <3>")]
    [InlineData(0x45, 1, 0, 2, 8, "if r1 & 0x8 goto pc+2 <3>")]
    public void FormatsLikeTheKernel(int op, int dst, int src, int off, int imm, string expected)
    {
        Assert.Equal(expected, One(I((byte)op, (byte)dst, (byte)src, (short)off, imm)));
    }

    [Fact]
    public void LoadImm64ShowsTheFullValueAndSkipsItsSecondSlot()
    {
        var insns = new[] { I(0x18, 1, 0, 0, unchecked((int)0xdeadbeef)), I(0, 0, 0, 0, 0x12), I(0x95, 0, 0, 0, 0) };
        var lines = BpfDisassembler.Format(insns);
        Assert.Equal(new[] { "   0: (18) r1 = 0x12deadbeef", "   2: (95) exit" }, lines);
    }

    [Fact]
    public void PseudoLoadsNameWhatTheyReferTo()
    {
        var mapFd = new[] { I(0x18, 1, BpfPseudo.MapFd, 0, 4), I(0, 0, 0, 0, 0) };
        var mapValue = new[] { I(0x18, 1, BpfPseudo.MapValue, 0, 4), I(0, 0, 0, 0, 16) };
        Assert.Equal("r1 = map[fd:4]", BpfDisassembler.FormatInstruction(mapFd, 0));
        Assert.Equal("r1 = map[fd:4][0]+16", BpfDisassembler.FormatInstruction(mapValue, 0));
        Assert.Equal("r1 = map[counts]", BpfDisassembler.FormatInstruction(mapFd, 0, "counts"));
        Assert.Equal("r1 = map[.rodata][0]+16", BpfDisassembler.FormatInstruction(mapValue, 0, ".rodata"));
        var ksym = new[] { I(0x18, 2, BpfPseudo.BtfId, 0, 77), I(0, 0, 0, 0, 0) };
        Assert.Equal("r2 = ksym[btf_id:77]", BpfDisassembler.FormatInstruction(ksym, 0));
        var callback = new[] { I(0x18, 2, BpfPseudo.Func, 0, 5), I(0, 0, 0, 0, 0) };
        Assert.Equal("r2 = func pc+5 <6>", BpfDisassembler.FormatInstruction(callback, 0));
    }

    [Fact]
    public void PseudoCallShowsItsTarget()
    {
        var insns = new[] { I(0xb7, 1, 0, 0, 1), I(0x85, 0, BpfPseudo.Call, 0, 2), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0), I(0x95, 0, 0, 0, 0) };
        Assert.Equal("call pc+2 <4>", BpfDisassembler.FormatInstruction(insns, 1));
        Assert.Equal("call pc+2 <4> helper", BpfDisassembler.FormatInstruction(insns, 1, "helper"));
    }

    [Fact]
    public void TruncatedLoadImm64DoesNotThrow()
    {
        var lines = BpfDisassembler.Format(new[] { I(0x18, 1, 0, 0, 1) });
        Assert.Single(lines);
        Assert.Contains("missing", lines[0]);
    }

    [Fact]
    public void HelperNamesMatchUapiIds()
    {
        // Ids from enum bpf_func_id in uapi/linux/bpf.h.
        Assert.Equal("bpf_map_lookup_elem", BpfHelperNames.Get(1));
        Assert.Equal("bpf_tail_call", BpfHelperNames.Get(12));
        Assert.Equal("bpf_ringbuf_output", BpfHelperNames.Get(130));
        Assert.Equal("bpf_loop", BpfHelperNames.Get(181));
        Assert.Equal(181, BpfHelperNames.Find("loop"));
        Assert.Null(BpfHelperNames.Get(0));
        Assert.Null(BpfHelperNames.Get(-5));
    }
}
