using System.Runtime.InteropServices;

namespace BpfPS.Core.Asm;

/// <summary>Converting between instruction arrays and the kernel's byte layout, and small decoding helpers.</summary>
public static class BpfInstructions
{
    /// <summary>Size of one instruction slot.</summary>
    public const int Size = 8;

    /// <summary>
    /// Copies a section's bytes into instructions. The layout is the kernel's (struct bpf_insn, little-endian), so this is
    /// a reinterpretation plus one copy.
    /// </summary>
    /// <exception cref="BpfFormatException">The length is not a multiple of 8.</exception>
    public static BpfInstruction[] FromBytes(ReadOnlySpan<byte> bytes, string? file = null, string? section = null)
    {
        if (bytes.Length % Size != 0)
            throw new BpfFormatException($"code size {bytes.Length} is not a multiple of {Size}", file, section, bytes.Length - bytes.Length % Size);
        // A byte copy into the new array, not MemoryMarshal.Cast<byte, BpfInstruction>(bytes).ToArray(): the generic span
        // methods over BpfInstruction cannot be precompiled into this ReadyToRun assembly and were JIT-compiled at the
        // first parse of every session.
        if (bytes.IsEmpty) return Collections.ValueList<BpfInstruction>.Empty;
        var instructions = new BpfInstruction[bytes.Length / Size];
        unsafe
        {
            fixed (BpfInstruction* target = instructions)
                bytes.CopyTo(new Span<byte>(target, bytes.Length));
        }
        return instructions;
    }

    /// <summary>The kernel's byte layout of instructions (no copy).</summary>
    public static ReadOnlySpan<byte> AsBytes(ReadOnlySpan<BpfInstruction> instructions) => MemoryMarshal.AsBytes(instructions);

    /// <summary>The full 64-bit immediate of a ld_imm64 starting at <paramref name="index"/>.</summary>
    public static ulong LoadImm64Value(ReadOnlySpan<BpfInstruction> instructions, int index) =>
        (uint)instructions[index].Immediate | ((ulong)(uint)instructions[index + 1].Immediate << 32);

    /// <summary>
    /// The index a jump or BPF-to-BPF call at <paramref name="index"/> lands on, or null when the instruction neither jumps
    /// nor calls a subprogram (helpers, kfuncs and exit have no target). For a ld_imm64 of a BPF function (src_reg
    /// <see cref="BpfPseudo.Func"/>) it is the function's start.
    /// </summary>
    public static int? TargetOf(in BpfInstruction insn, int index)
    {
        byte op = insn.OpCode;
        if (op == BpfOpCodes.LoadImm64 && insn.Src == BpfPseudo.Func) return index + insn.Immediate + 1;
        if (!BpfOpCodes.IsJump(op)) return null;
        byte operation = BpfOpCodes.Operation(op);
        if (operation == BpfOpCodes.JmpExit) return null;
        if (operation == BpfOpCodes.JmpCall) return insn.Src == BpfPseudo.Call ? index + insn.Immediate + 1 : null;
        // gotol (BPF_JMP32 | BPF_JA) keeps its long offset in imm.
        if (op == (BpfOpCodes.ClassJmp32 | BpfOpCodes.JmpJa)) return index + insn.Immediate + 1;
        return index + insn.Offset + 1;
    }
}
