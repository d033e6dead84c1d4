namespace BpfPS.Core.Asm;

/// <summary>
/// The parts of an instruction's opcode byte (uapi/linux/bpf_common.h and bpf.h): class in bits 0-2; for loads and
/// stores size in bits 3-4 and mode in bits 5-7; for ALU and jumps source in bit 3 and operation in bits 4-7.
/// </summary>
public static class BpfOpCodes
{
    // Classes.
    public const byte ClassLd = 0x00;
    public const byte ClassLdx = 0x01;
    public const byte ClassSt = 0x02;
    public const byte ClassStx = 0x03;
    public const byte ClassAlu = 0x04;
    public const byte ClassJmp = 0x05;
    public const byte ClassJmp32 = 0x06;
    public const byte ClassAlu64 = 0x07;

    // Load/store sizes.
    public const byte SizeW = 0x00;
    public const byte SizeH = 0x08;
    public const byte SizeB = 0x10;
    public const byte SizeDW = 0x18;

    // Load/store modes.
    public const byte ModeImm = 0x00;
    public const byte ModeAbs = 0x20;
    public const byte ModeInd = 0x40;
    public const byte ModeMem = 0x60;
    /// <summary>Sign-extending load (cpu v4).</summary>
    public const byte ModeMemSx = 0x80;
    public const byte ModeAtomic = 0xc0;

    // Operand source.
    public const byte SourceK = 0x00;
    public const byte SourceX = 0x08;

    // ALU operations.
    public const byte AluAdd = 0x00;
    public const byte AluSub = 0x10;
    public const byte AluMul = 0x20;
    public const byte AluDiv = 0x30;
    public const byte AluOr = 0x40;
    public const byte AluAnd = 0x50;
    public const byte AluLsh = 0x60;
    public const byte AluRsh = 0x70;
    public const byte AluNeg = 0x80;
    public const byte AluMod = 0x90;
    public const byte AluXor = 0xa0;
    public const byte AluMov = 0xb0;
    public const byte AluArsh = 0xc0;
    public const byte AluEnd = 0xd0;

    // Jump operations.
    public const byte JmpJa = 0x00;
    public const byte JmpJeq = 0x10;
    public const byte JmpJgt = 0x20;
    public const byte JmpJge = 0x30;
    public const byte JmpJset = 0x40;
    public const byte JmpJne = 0x50;
    public const byte JmpJsgt = 0x60;
    public const byte JmpJsge = 0x70;
    public const byte JmpCall = 0x80;
    public const byte JmpExit = 0x90;
    public const byte JmpJlt = 0xa0;
    public const byte JmpJle = 0xb0;
    public const byte JmpJslt = 0xc0;
    public const byte JmpJsle = 0xd0;

    // Atomic operations (in imm of BPF_STX | BPF_ATOMIC).
    public const int AtomicFetch = 0x01;
    public const int AtomicXchg = 0xe0 | AtomicFetch;
    public const int AtomicCmpXchg = 0xf0 | AtomicFetch;

    /// <summary>BPF_LD | BPF_IMM | BPF_DW: the 16-byte ld_imm64.</summary>
    public const byte LoadImm64 = ClassLd | ModeImm | SizeDW;
    /// <summary>BPF_JMP | BPF_CALL.</summary>
    public const byte Call = ClassJmp | JmpCall;
    /// <summary>BPF_JMP | BPF_EXIT.</summary>
    public const byte Exit = ClassJmp | JmpExit;
    /// <summary>BPF_JMP | BPF_JA.</summary>
    public const byte Goto = ClassJmp | JmpJa;

    public static byte Class(byte op) => (byte)(op & 0x07);
    public static byte Size(byte op) => (byte)(op & 0x18);
    public static byte Mode(byte op) => (byte)(op & 0xe0);
    public static byte Source(byte op) => (byte)(op & 0x08);
    public static byte Operation(byte op) => (byte)(op & 0xf0);
    public static bool IsAlu(byte op) => Class(op) is ClassAlu or ClassAlu64;
    public static bool IsJump(byte op) => Class(op) is ClassJmp or ClassJmp32;
}
