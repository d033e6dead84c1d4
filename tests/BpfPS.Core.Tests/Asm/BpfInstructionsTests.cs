using BpfPS.Core.Asm;

namespace BpfPS.Core.Tests.Asm;

public class BpfInstructionsTests
{
    [Fact]
    public void FromBytesUsesKernelLayout()
    {
        // struct bpf_insn { u8 code; u8 dst_reg:4, src_reg:4; s16 off; s32 imm; } little-endian.
        byte[] bytes = [0x61, 0x61, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x12, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00];
        var insns = BpfInstructions.FromBytes(bytes);
        Assert.Equal(2, insns.Length);
        Assert.Equal(0x61, insns[0].OpCode);
        Assert.Equal(1, insns[0].Dst);
        Assert.Equal(6, insns[0].Src);
        Assert.Equal(4, insns[0].Offset);
        Assert.True(insns[1].IsLoadImm64);
        Assert.Equal(2, insns[1].Dst);
        Assert.Equal(1, insns[1].Src);
        Assert.Equal(5, insns[1].Immediate);
        Assert.Equal(bytes, BpfInstructions.AsBytes(insns).ToArray());
    }

    [Fact]
    public void FromBytesRejectsPartialInstruction()
    {
        var ex = Assert.Throws<BpfFormatException>(() => BpfInstructions.FromBytes(new byte[12], "x.o", "xdp"));
        Assert.Equal("x.o", ex.File);
        Assert.Equal("xdp", ex.Section);
    }

    [Fact]
    public void TargetOfFollowsJumpsCallsAndCallbacks()
    {
        Assert.Equal(8, BpfInstructions.TargetOf(new BpfInstruction(0x15, 1, 0, 4, 0), 3));                 // if r1 == 0 goto +4
        Assert.Equal(1, BpfInstructions.TargetOf(new BpfInstruction(0x05, 0, 0, -3, 0), 3));                // goto -3
        Assert.Equal(10, BpfInstructions.TargetOf(new BpfInstruction(0x85, 0, BpfPseudo.Call, 0, 6), 3));   // call pc+6
        Assert.Equal(10, BpfInstructions.TargetOf(new BpfInstruction(0x18, 2, BpfPseudo.Func, 0, 6), 3));   // callback
        Assert.Null(BpfInstructions.TargetOf(new BpfInstruction(0x85, 0, 0, 0, 1), 3));                     // helper
        Assert.Null(BpfInstructions.TargetOf(new BpfInstruction(0x95, 0, 0, 0, 0), 3));                     // exit
        Assert.Null(BpfInstructions.TargetOf(new BpfInstruction(0xb7, 0, 0, 0, 0), 3));                     // mov
    }
}
