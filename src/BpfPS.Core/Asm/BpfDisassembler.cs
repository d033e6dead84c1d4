using System.Globalization;
using static BpfPS.Core.Asm.BpfOpCodes;

namespace BpfPS.Core.Asm;

/// <summary>
/// Prints instructions the way the kernel's verifier log and <c>bpftool prog dump xlated</c> do (kernel/bpf/disasm.c),
/// e.g. <c>   3: (61) r1 = *(u32 *)(r6 +4)</c>, <c>call bpf_map_lookup_elem#1</c>, <c>r1 = map[fd:4]</c>.
/// Jumps and BPF-to-BPF calls also show the index they land on (<c>goto pc+3 &lt;7&gt;</c>). The second slot of a ld_imm64
/// gets no line of its own, as in bpftool, so indexes skip by two there.
/// </summary>
public static class BpfDisassembler
{
    /// <summary>One line per instruction.</summary>
    public static string[] Format(ReadOnlySpan<BpfInstruction> instructions) => Format(instructions, null);

    /// <summary>
    /// One line per instruction. <paramref name="symbolAt"/> may name what the instruction at an index refers to (a map,
    /// a ksym, a subprogram): it replaces the numeric fd or id in the text.
    /// </summary>
    public static string[] Format(ReadOnlySpan<BpfInstruction> instructions, Func<int, string?>? symbolAt)
    {
        var lines = new List<string>(instructions.Length);
        for (int i = 0; i < instructions.Length; i++)
        {
            string text = FormatInstruction(instructions, i, symbolAt?.Invoke(i));
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i,4}: ({instructions[i].OpCode:x2}) {text}"));
            if (instructions[i].IsLoadImm64) i++;
        }
        return lines.ToArray();
    }

    /// <summary>The text of the instruction at <paramref name="index"/> without index or opcode prefix.</summary>
    public static string FormatInstruction(ReadOnlySpan<BpfInstruction> instructions, int index, string? symbol = null)
    {
        var insn = instructions[index];
        byte op = insn.OpCode;
        return Class(op) switch
        {
            ClassAlu or ClassAlu64 => FormatAlu(insn),
            ClassStx => FormatStore(insn),
            ClassSt => Mode(op) == ModeMem
                ? Invariant($"*({SizeName(op)} *)(r{insn.Dst} {insn.Offset:+0;-0;+0}) = {insn.Immediate}")
                : Invariant($"BUG_st_{op:x2}"),
            ClassLdx => Mode(op) switch
            {
                ModeMem => Invariant($"r{insn.Dst} = *({SizeName(op)} *)(r{insn.Src} {insn.Offset:+0;-0;+0})"),
                ModeMemSx => Invariant($"r{insn.Dst} = *({SignedSizeName(op)} *)(r{insn.Src} {insn.Offset:+0;-0;+0})"),
                _ => Invariant($"BUG_ldx_{op:x2}"),
            },
            ClassLd => FormatLoad(instructions, index, symbol),
            _ => FormatJump(insn, index, symbol),
        };
    }

    private static string FormatAlu(in BpfInstruction insn)
    {
        byte op = insn.OpCode;
        char r = Class(op) == ClassAlu ? 'w' : 'r';
        byte operation = Operation(op);
        if (operation == AluEnd)
        {
            if (Class(op) == ClassAlu64) return Invariant($"r{insn.Dst} = bswap{insn.Immediate} r{insn.Dst}");
            return Invariant($"r{insn.Dst} = {(Source(op) == SourceX ? "be" : "le")}{insn.Immediate} r{insn.Dst}");
        }
        if (operation == AluNeg) return Invariant($"{r}{insn.Dst} = -{r}{insn.Dst}");
        string symbol = AluSymbol(operation, insn.Offset);
        if (Source(op) == SourceX)
        {
            if (operation == AluMov && insn.Offset != 0)
                return Invariant($"{r}{insn.Dst} = (s{insn.Offset}){r}{insn.Src}");
            return Invariant($"{r}{insn.Dst} {symbol} {r}{insn.Src}");
        }
        return Invariant($"{r}{insn.Dst} {symbol} {insn.Immediate}");
    }

    private static string FormatStore(in BpfInstruction insn)
    {
        byte op = insn.OpCode;
        string size = SizeName(op);
        string mem = Invariant($"({size} *)(r{insn.Dst} {insn.Offset:+0;-0;+0})");
        if (Mode(op) == ModeMem) return Invariant($"*{mem} = r{insn.Src}");
        if (Mode(op) != ModeAtomic) return Invariant($"BUG_{op:x2}");

        string width = Size(op) == SizeDW ? "64" : "";
        int atomicOp = insn.Immediate;
        if (atomicOp == AtomicXchg) return Invariant($"r{insn.Src} = atomic{width}_xchg({mem}, r{insn.Src})");
        if (atomicOp == AtomicCmpXchg) return Invariant($"r0 = atomic{width}_cmpxchg({mem}, r0, r{insn.Src})");
        string? name = (atomicOp & ~AtomicFetch) switch
        {
            AluAdd => "add", AluAnd => "and", AluOr => "or", AluXor => "xor", _ => null,
        };
        if (name is null) return Invariant($"BUG_atomic_{op:x2}_{atomicOp:x}");
        if ((atomicOp & AtomicFetch) != 0) return Invariant($"r{insn.Src} = atomic{width}_fetch_{name}({mem}, r{insn.Src})");
        return Invariant($"lock *{mem} {AluSymbol((byte)(atomicOp & 0xf0), 0)} r{insn.Src}");
    }

    private static string FormatLoad(ReadOnlySpan<BpfInstruction> instructions, int index, string? symbol)
    {
        var insn = instructions[index];
        byte op = insn.OpCode;
        if (Mode(op) == ModeAbs) return Invariant($"r0 = *({SizeName(op)} *)skb[{insn.Immediate}]");
        if (Mode(op) == ModeInd) return Invariant($"r0 = *({SizeName(op)} *)skb[r{insn.Src} + {insn.Immediate}]");
        if (op != LoadImm64) return Invariant($"BUG_ld_{op:x2}");
        if (index + 1 >= instructions.Length) return "<ld_imm64 missing its second half>";

        uint low = (uint)insn.Immediate;
        uint high = (uint)instructions[index + 1].Immediate;
        string value = insn.Src switch
        {
            BpfPseudo.MapFd => symbol is null ? Invariant($"map[fd:{low}]") : $"map[{symbol}]",
            BpfPseudo.MapValue => (symbol is null ? Invariant($"map[fd:{low}]") : $"map[{symbol}]") + Invariant($"[0]+{high}"),
            BpfPseudo.MapIdx => symbol is null ? Invariant($"map[idx:{low}]") : $"map[{symbol}]",
            BpfPseudo.MapIdxValue => (symbol is null ? Invariant($"map[idx:{low}]") : $"map[{symbol}]") + Invariant($"[0]+{high}"),
            BpfPseudo.BtfId => symbol is null ? Invariant($"ksym[btf_id:{low}]") : $"ksym[{symbol}]",
            BpfPseudo.Func => Invariant($"func pc{insn.Immediate:+0;-0;+0} <{index + insn.Immediate + 1}>") + (symbol is null ? "" : $" {symbol}"),
            _ => Invariant($"0x{((ulong)high << 32) | low:x}"),
        };
        return Invariant($"r{insn.Dst} = {value}");
    }

    private static string FormatJump(in BpfInstruction insn, int index, string? symbol)
    {
        byte op = insn.OpCode;
        byte operation = Operation(op);
        bool is32 = Class(op) == ClassJmp32;
        if (operation == JmpCall)
        {
            return insn.Src switch
            {
                BpfPseudo.Call => Invariant($"call pc{insn.Immediate:+0;-0;+0} <{index + insn.Immediate + 1}>") + (symbol is null ? "" : $" {symbol}"),
                BpfPseudo.KfuncCall => symbol is null ? Invariant($"call kfunc#{insn.Immediate}") : Invariant($"call {symbol}#{insn.Immediate}"),
                _ => Invariant($"call {BpfHelperNames.Get(insn.Immediate) ?? "unknown"}#{insn.Immediate}"),
            };
        }
        if (operation == JmpExit && !is32) return "exit";
        if (operation == JmpJa)
        {
            return is32
                ? Invariant($"gotol pc{insn.Immediate:+0;-0;+0} <{index + insn.Immediate + 1}>")
                : Invariant($"goto pc{insn.Offset:+0;-0;+0} <{index + insn.Offset + 1}>");
        }
        string? comparison = JumpSymbol(operation);
        if (comparison is null) return Invariant($"BUG_jmp_{op:x2}");
        char r = is32 ? 'w' : 'r';
        string right = Source(op) == SourceX ? Invariant($"{r}{insn.Src}") : Invariant($"0x{(uint)insn.Immediate:x}");
        return Invariant($"if {r}{insn.Dst} {comparison} {right} goto pc{insn.Offset:+0;-0;+0} <{index + insn.Offset + 1}>");
    }

    private static string AluSymbol(byte operation, short offset) => operation switch
    {
        AluAdd => "+=", AluSub => "-=", AluMul => "*=",
        AluDiv => offset == 1 ? "s/=" : "/=",
        AluOr => "|=", AluAnd => "&=", AluLsh => "<<=", AluRsh => ">>=",
        AluMod => offset == 1 ? "s%=" : "%=",
        AluXor => "^=", AluMov => "=", AluArsh => "s>>=",
        _ => "?=",
    };

    private static string? JumpSymbol(byte operation) => operation switch
    {
        JmpJeq => "==", JmpJgt => ">", JmpJge => ">=", JmpJset => "&", JmpJne => "!=",
        JmpJsgt => "s>", JmpJsge => "s>=", JmpJlt => "<", JmpJle => "<=", JmpJslt => "s<", JmpJsle => "s<=",
        _ => null,
    };

    private static string SizeName(byte op) => Size(op) switch { SizeW => "u32", SizeH => "u16", SizeB => "u8", _ => "u64" };
    private static string SignedSizeName(byte op) => Size(op) switch { SizeW => "s32", SizeH => "s16", SizeB => "s8", _ => "s64" };

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);
}
