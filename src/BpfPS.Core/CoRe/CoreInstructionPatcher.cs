using BpfPS.Core.Asm;

namespace BpfPS.Core.CoRe;

/// <summary>
/// Writes a relocation's outcome into its instruction (libbpf's bpf_core_patch_insn): ALU immediates, load/store
/// offsets (resizing the access when the field changed size), ld_imm64 64-bit immediates; or poisons it.
/// </summary>
internal static class CoreInstructionPatcher
{
    /// <summary>The helper id a poisoned call uses; the verifier reports "invalid func unknown#195896080" if it is reachable.</summary>
    public const int PoisonHelperId = 0xbad2310;

    private const byte ClassLd = 0x00, ClassLdx = 0x01, ClassSt = 0x02, ClassStx = 0x03, ClassAlu = 0x04, ClassAlu64 = 0x07;
    private const byte SourceRegister = 0x08;
    private const byte SizeMask = 0x18, SizeW = 0x00, SizeH = 0x08, SizeB = 0x10, SizeDW = 0x18;

    /// <summary>Applies <paramref name="outcome"/> at <paramref name="index"/>; returns true if the instruction was poisoned.</summary>
    /// <exception cref="CoreRelocationException">The instruction is not relocatable or does not hold the expected local value.</exception>
    public static bool Patch(BpfInstruction[] instructions, int index, in CoreRelocationOutcome outcome)
    {
        ref var instruction = ref instructions[index];
        if (outcome.Poison)
        {
            Poison(instructions, index);
            return true;
        }

        switch (instruction.Class)
        {
            case ClassAlu or ClassAlu64:
                if ((instruction.OpCode & SourceRegister) != 0)
                    throw new CoreRelocationException($"instruction {index} is a register ALU operation; only immediates can be relocated");
                // The immediate is s32; libbpf compares it sign-extended against the 64-bit expected value.
                if (outcome.Validate && (ulong)(long)instruction.Immediate != outcome.OriginalValue)
                    throw Mismatch(index, "ALU immediate", instruction.Immediate, outcome);
                instruction.Immediate = unchecked((int)outcome.NewValue);
                return false;

            case ClassLdx or ClassSt or ClassStx:
                if (outcome.Validate && (ulong)(long)instruction.Offset != outcome.OriginalValue)
                    throw Mismatch(index, "load/store offset", instruction.Offset, outcome);
                if (outcome.NewValue > (ulong)short.MaxValue)
                    throw new CoreRelocationException($"instruction {index}: offset {outcome.NewValue} does not fit a load/store's 16-bit offset");
                if (outcome.FailMemorySizeAdjust)
                {
                    // The field changed size in a way a load cannot follow: libbpf poisons rather than read a wrong value.
                    Poison(instructions, index);
                    return true;
                }
                instruction.Offset = (short)outcome.NewValue;
                if (outcome.NewSize != outcome.OriginalSize)
                {
                    uint accessSize = AccessSize(instruction.OpCode);
                    if (accessSize != outcome.OriginalSize)
                        throw new CoreRelocationException($"instruction {index} accesses {accessSize} bytes but the local field is {outcome.OriginalSize} bytes");
                    instruction.OpCode = (byte)((instruction.OpCode & ~SizeMask) | SizeBits(outcome.NewSize, index));
                }
                return false;

            case ClassLd:
                if (!instruction.IsLoadImm64 || instruction.Src != 0 || instruction.Offset != 0 || index + 1 >= instructions.Length
                    || instructions[index + 1].OpCode != 0 || instructions[index + 1].Registers != 0 || instructions[index + 1].Offset != 0)
                    throw new CoreRelocationException($"instruction {index} is not a plain ld_imm64");
                ref var high = ref instructions[index + 1];
                ulong current = (uint)instruction.Immediate | ((ulong)(uint)high.Immediate << 32);
                if (outcome.Validate && current != outcome.OriginalValue)
                    throw new CoreRelocationException($"instruction {index} (ld_imm64) holds {current}, but the object's BTF gives {outcome.OriginalValue}");
                instruction.Immediate = unchecked((int)outcome.NewValue);
                high.Immediate = unchecked((int)(outcome.NewValue >> 32));
                return false;

            default:
                throw new CoreRelocationException($"instruction {index} ({instruction}) is not an ALU, load/store or ld_imm64 instruction");
        }
    }

    /// <summary>
    /// Turns the instruction into a call of a helper that does not exist, so the verifier rejects it only if it is reachable.
    /// Both halves of a ld_imm64 are poisoned so the verifier does not trip over a stray second half first.
    /// </summary>
    public static void Poison(BpfInstruction[] instructions, int index)
    {
        if (instructions[index].IsLoadImm64 && index + 1 < instructions.Length)
            instructions[index + 1] = PoisonInstruction;
        instructions[index] = PoisonInstruction;
    }

    public static BpfInstruction PoisonInstruction => new(0x85, 0, 0, 0, PoisonHelperId);

    private static uint AccessSize(byte opCode) => (opCode & SizeMask) switch
    {
        SizeDW => 8,
        SizeW => 4,
        SizeH => 2,
        _ => 1,
    };

    private static byte SizeBits(uint bytes, int index) => bytes switch
    {
        8 => SizeDW,
        4 => SizeW,
        2 => SizeH,
        1 => SizeB,
        _ => throw new CoreRelocationException($"instruction {index}: a field of {bytes} bytes cannot be loaded in one instruction"),
    };

    private static CoreRelocationException Mismatch(int index, string what, long actual, in CoreRelocationOutcome outcome) =>
        new($"instruction {index} {what} is {actual}, but the object's BTF gives {outcome.OriginalValue} (object and BTF out of sync)");
}
