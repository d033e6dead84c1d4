using System.Runtime.InteropServices;

namespace BpfPS.Core.Asm;

/// <summary>
/// One 8-byte eBPF instruction in kernel wire format (struct bpf_insn). A ld_imm64 takes two consecutive slots;
/// the second holds the upper 32 bits in <see cref="Immediate"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 8)]
public struct BpfInstruction : IEquatable<BpfInstruction>
{
    public byte OpCode;
    /// <summary>dst_reg in the low nibble, src_reg in the high nibble.</summary>
    public byte Registers;
    public short Offset;
    public int Immediate;

    public BpfInstruction(byte opCode, byte dst, byte src, short offset, int immediate)
    {
        OpCode = opCode;
        Registers = (byte)((dst & 0xf) | ((src & 0xf) << 4));
        Offset = offset;
        Immediate = immediate;
    }

    public byte Dst { readonly get => (byte)(Registers & 0xf); set => Registers = (byte)((Registers & 0xf0) | (value & 0xf)); }
    public byte Src { readonly get => (byte)(Registers >> 4); set => Registers = (byte)((Registers & 0x0f) | ((value & 0xf) << 4)); }

    /// <summary>Instruction class (BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_JMP32, BPF_ALU64).</summary>
    public readonly byte Class => (byte)(OpCode & 0x07);
    /// <summary>True for the first half of a 16-byte ld_imm64 (BPF_LD | BPF_IMM | BPF_DW).</summary>
    public readonly bool IsLoadImm64 => OpCode == 0x18;
    /// <summary>True for BPF_JMP | BPF_CALL.</summary>
    public readonly bool IsCall => OpCode == 0x85;
    /// <summary>Call to a BPF-to-BPF function (src_reg BPF_PSEUDO_CALL).</summary>
    public readonly bool IsPseudoCall => OpCode == 0x85 && Src == 1;

    public readonly bool Equals(BpfInstruction other) => OpCode == other.OpCode && Registers == other.Registers && Offset == other.Offset && Immediate == other.Immediate;
    public override readonly bool Equals(object? obj) => obj is BpfInstruction i && Equals(i);
    public override readonly int GetHashCode() => HashCode.Combine(OpCode, Registers, Offset, Immediate);
    public static bool operator ==(BpfInstruction a, BpfInstruction b) => a.Equals(b);
    public static bool operator !=(BpfInstruction a, BpfInstruction b) => !a.Equals(b);
    public override readonly string ToString() => $"{OpCode:x2} {Registers:x2} {(ushort)Offset:x4} {Immediate:x8}";
}
