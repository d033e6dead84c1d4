namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>The fields of 8-byte BPF instructions: opcode, registers, offset and immediate.</summary>
public static class InstructionLayout
{
    /// <summary>Adds the instructions in [<paramref name="start"/>, start + <paramref name="length"/>) to <paramref name="layout"/>, at most <paramref name="limit"/> of them.</summary>
    public static void Scan(InputLayout layout, int start, int length, int blobLength, int limit = 4096)
    {
        int count = Math.Min(length / 8, limit);
        for (int i = 0; i < count; i++)
        {
            int at = start + i * 8;
            layout.Add(at, 1, "insn.code", blobLength);
            layout.Add(at + 1, 1, "insn.regs", blobLength);
            layout.Add(at + 2, 2, "insn.off", blobLength);
            layout.Add(at + 4, 4, "insn.imm", blobLength);
        }
        layout.Hint((ulong)(length / 8));
    }

    public static InputLayout Of(ReadOnlySpan<byte> instructions)
    {
        var layout = new InputLayout();
        Scan(layout, 0, instructions.Length, instructions.Length);
        return layout;
    }
}
