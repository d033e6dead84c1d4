namespace BpfPS.Core.Asm;

/// <summary>
/// Values of src_reg that give an instruction a special meaning (uapi/linux/bpf.h): for ld_imm64, what the 64-bit
/// immediate refers to; for calls, what kind of function is called.
/// </summary>
public static class BpfPseudo
{
    /// <summary>ld_imm64: imm is a map fd; the register gets the map pointer.</summary>
    public const byte MapFd = 1;
    /// <summary>ld_imm64: imm is a map fd, the second imm an offset into its value (global data).</summary>
    public const byte MapValue = 2;
    /// <summary>ld_imm64: imm is a kernel BTF id of a variable (ksym), the second imm a module BTF fd.</summary>
    public const byte BtfId = 3;
    /// <summary>ld_imm64: imm is a relative instruction offset to a BPF function (callback, e.g. for bpf_loop).</summary>
    public const byte Func = 4;
    /// <summary>ld_imm64: imm is an index into fd_array.</summary>
    public const byte MapIdx = 5;
    /// <summary>ld_imm64: like MapValue, with an fd_array index.</summary>
    public const byte MapIdxValue = 6;

    /// <summary>call: imm is a relative instruction offset to a BPF-to-BPF subprogram.</summary>
    public const byte Call = 1;
    /// <summary>call: imm is a kernel BTF id of a kfunc, off a module BTF fd_array index.</summary>
    public const byte KfuncCall = 2;
}
