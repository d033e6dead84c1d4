using System.Collections.Immutable;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.CoRe;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>Instruction and relocation shorthands for CO-RE tests. Opcodes are from the kernel's uapi bpf.h.</summary>
internal static class CoreTestKit
{
    /// <summary>BPF_LDX | BPF_MEM | BPF_W: r0 = *(u32 *)(r1 + off).</summary>
    public static BpfInstruction LoadWord(short offset) => new(0x61, 0, 1, offset, 0);
    /// <summary>BPF_LDX | BPF_MEM | BPF_DW.</summary>
    public static BpfInstruction LoadDoubleWord(short offset) => new(0x79, 0, 1, offset, 0);
    /// <summary>BPF_ALU64 | BPF_MOV | BPF_K: r0 = imm.</summary>
    public static BpfInstruction MoveImmediate(int value) => new(0xb7, 0, 0, 0, value);
    /// <summary>BPF_ALU64 | BPF_ADD | BPF_K: r1 += imm (how clang adds a field offset to a pointer).</summary>
    public static BpfInstruction AddImmediate(int value) => new(0x07, 1, 0, 0, value);
    /// <summary>BPF_ALU64 | BPF_ADD | BPF_X: r1 += r2 (not relocatable).</summary>
    public static BpfInstruction AddRegister() => new(0x0f, 1, 2, 0, 0);
    /// <summary>BPF_JMP | BPF_EXIT.</summary>
    public static BpfInstruction Exit() => new(0x95, 0, 0, 0, 0);

    /// <summary>BPF_LD | BPF_IMM | BPF_DW in two slots: r0 = imm64.</summary>
    public static BpfInstruction[] LoadImm64(ulong value) =>
    [
        new(0x18, 0, 0, 0, unchecked((int)(uint)value)),
        new(0x00, 0, 0, 0, unchecked((int)(uint)(value >> 32))),
    ];

    public static ulong Imm64(BpfInstruction[] program, int index) =>
        (uint)program[index].Immediate | ((ulong)(uint)program[index + 1].Immediate << 32);

    /// <summary>call 0xbad2310, libbpf's poison (BPF_JMP | BPF_CALL, imm 195896080).</summary>
    public static readonly BpfInstruction Poison = new(0x85, 0, 0, 0, 195896080);

    public static CoreRelocationResult RelocateOne(BpfInstruction[] program, CoreRelocation relocation, BtfSpec local, params BtfSpec[] targets) =>
        CoreRelocator.Apply(program, [relocation], local, targets)[0];

    public static ImmutableArray<CoreRelocationResult> Relocate(BpfInstruction[] program, BtfSpec local, BtfSpec[] targets, params CoreRelocation[] relocations) =>
        CoreRelocator.Apply(program, relocations, local, targets);

    public static BtfMember Member(string name, uint typeId, uint bitOffset, byte bitfieldSize = 0) => new(name, typeId, bitOffset, bitfieldSize);
}
