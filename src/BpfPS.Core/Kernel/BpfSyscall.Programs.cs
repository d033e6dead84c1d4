using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Kernel;

// Program commands: load (with the verifier log), test run, bind map.
public static unsafe partial class BpfSyscall
{
    /// <summary>Initial verifier/BTF log buffer when a log is requested.</summary>
    public const uint DefaultLogSize = 64 * 1024;
    /// <summary>Largest log buffer we grow to (the kernel refuses more than UINT_MAX >> 2 anyway).</summary>
    public const uint MaxLogSize = 256 * 1024 * 1024;
    /// <summary>libbpf retries PROG_LOAD this many times on EAGAIN (the verifier may ask to retry under memory pressure).</summary>
    private const int EagainAttempts = 5;

    /// <summary>
    /// BPF_PROG_LOAD. Retries EAGAIN like libbpf, grows the log on ENOSPC, and when a load without a log fails, loads
    /// again with log level 1 (unless disabled) so the exception carries the verifier's reasoning.
    /// </summary>
    /// <exception cref="BpfSyscallException">The kernel refused the program; <see cref="BpfSyscallException.Log"/> holds the verifier log.</exception>
    public static ProgramLoadResult ProgramLoad(ProgramLoadRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        // The records go to the kernel as they are when their layout is the kernel's (see FuncInfoBytes), else as copies.
        // Arrays and pointers, not spans: span members over these record structs would be JIT-compiled at the first load.
        var instructions = request.InstructionArray;
        var funcInfos = request.FuncInfoArray;
        var lineInfos = request.LineInfoArray;
        byte[]? funcInfoCopy = FuncInfosAsTheyAre ? null : MarshalFuncInfos(funcInfos);
        byte[]? lineInfoCopy = LineInfosAsTheyAre ? null : MarshalLineInfos(lineInfos);
        byte[] license = NulTerminated(request.License);

        using var btf = request.ProgramBtf is null ? default : request.ProgramBtf.Lease();
        using var attachObj = request.AttachBtfObject is null ? default : request.AttachBtfObject.Lease();

        uint logLevel = request.LogLevel;
        uint logSize = logLevel != 0 ? Math.Max(request.LogSize, 1024) : 0;
        byte[]? logBuffer = null;
        while (true)
        {
            if (logLevel != 0 && (logBuffer is null || logBuffer.Length < logSize)) logBuffer = new byte[logSize];
            var attr = new ProgLoadAttr
            {
                ProgType = (uint)request.Type,
                InsnCount = (uint)instructions.Length,
                LogLevel = logLevel,
                KernVersion = request.KernelVersion,
                ProgFlags = request.Flags,
                ExpectedAttachType = (uint)request.ExpectedAttachType,
                AttachBtfId = request.AttachBtfId,
            };
            WriteObjectName(attr.ProgName, request.Name);
            if (request.ProgramBtf is not null) attr.ProgBtfFd = (uint)btf.Value;
            if (request.AttachBtfObject is not null) attr.AttachBtfObjFd = (uint)attachObj.Value;

            int fd, errno;
            fixed (BpfInstruction* insns = instructions)
            fixed (byte* lic = license)
            fixed (byte* log = logBuffer)
            fixed (BtfFuncInfo* fiRecords = funcInfos)
            fixed (byte* fiCopy = funcInfoCopy)
            fixed (BtfLineInfo* liRecords = lineInfos)
            fixed (byte* liCopy = lineInfoCopy)
            fixed (int* fds = request.FdArrayArray)
            {
                byte* fi = funcInfoCopy is null ? (byte*)fiRecords : fiCopy;
                byte* li = lineInfoCopy is null ? (byte*)liRecords : liCopy;
                attr.Insns = Address(insns);
                attr.License = Address(lic);
                if (logLevel != 0) { attr.LogBuf = Address(log); attr.LogSize = (uint)logBuffer!.Length; }
                if (request.ProgramBtf is not null && funcInfos.Length > 0)
                {
                    attr.FuncInfo = Address(fi); attr.FuncInfoRecSize = FuncInfoRecordSize; attr.FuncInfoCount = (uint)funcInfos.Length;
                }
                if (request.ProgramBtf is not null && lineInfos.Length > 0)
                {
                    attr.LineInfo = Address(li); attr.LineInfoRecSize = LineInfoRecordSize; attr.LineInfoCount = (uint)lineInfos.Length;
                }
                if (request.FdArrayArray.Length != 0) attr.FdArray = Address(fds);

                int attempt = 0;
                do fd = Invoke(BpfCommand.ProgLoad, ref attr, out errno);
                while (fd < 0 && errno == Errno.EAGAIN && ++attempt < EagainAttempts);
            }

            string? logText = logLevel != 0 ? DecodeLog(logBuffer!) : null;
            if (fd >= 0) return new ProgramLoadResult(Own(fd), logText);

            if (logLevel == 0 && request.RetryWithLogOnFailure)
            {
                logLevel = 1;
                logSize = Math.Max(request.LogSize, 1024);
                continue;
            }
            if (logLevel != 0 && errno == Errno.ENOSPC && logSize < MaxLogSize)
            {
                logSize = NextLogSize(logSize, attr.LogTrueSize);
                continue;
            }
            throw new BpfSyscallException(BpfCommand.ProgLoad, errno, request.Name is null ? null : $"program '{request.Name}'", logText);
        }
    }

    /// <summary>BPF_PROG_TEST_RUN: runs the program <paramref name="repeat"/> times on the given packet/context.</summary>
    /// <remarks>Empty output spans mean "don't copy out". On ENOSPC (output too small) an exception is thrown.</remarks>
    public static ProgramTestRunResult ProgramTestRun(BpfFd program, ReadOnlySpan<byte> dataIn, Span<byte> dataOut = default,
        ReadOnlySpan<byte> contextIn = default, Span<byte> contextOut = default, uint repeat = 1, uint flags = 0, uint cpu = 0)
    {
        using var lease = program.Lease();
        fixed (byte* di = dataIn)
        fixed (byte* dout = dataOut)
        fixed (byte* ci = contextIn)
        fixed (byte* cout = contextOut)
        {
            var attr = new TestRunAttr
            {
                ProgFd = (uint)lease.Value, Repeat = repeat, Flags = flags, Cpu = cpu,
                DataIn = dataIn.IsEmpty ? 0 : Address(di), DataSizeIn = (uint)dataIn.Length,
                DataOut = dataOut.IsEmpty ? 0 : Address(dout), DataSizeOut = (uint)dataOut.Length,
                CtxIn = contextIn.IsEmpty ? 0 : Address(ci), CtxSizeIn = (uint)contextIn.Length,
                CtxOut = contextOut.IsEmpty ? 0 : Address(cout), CtxSizeOut = (uint)contextOut.Length,
            };
            InvokeChecked(BpfCommand.ProgTestRun, ref attr);
            return new ProgramTestRunResult(attr.Retval, attr.Duration, (int)attr.DataSizeOut, (int)attr.CtxSizeOut);
        }
    }

    /// <summary>BPF_PROG_BIND_MAP: keeps <paramref name="map"/> alive as long as <paramref name="program"/> (libbpf does this for .rodata).</summary>
    public static void ProgramBindMap(BpfFd program, BpfFd map)
    {
        using var p = program.Lease();
        using var m = map.Lease();
        var attr = new ProgBindMapAttr { ProgFd = (uint)p.Value, MapFd = (uint)m.Value };
        InvokeChecked(BpfCommand.ProgBindMap, ref attr);
    }

    /// <summary>sizeof(struct bpf_func_info): insn_off, type_id.</summary>
    internal const uint FuncInfoRecordSize = 8;
    /// <summary>sizeof(struct bpf_line_info): insn_off, file_name_off, line_off, line_col.</summary>
    internal const uint LineInfoRecordSize = 16;

    /// <summary>
    /// The records as bpf_func_info bytes. BtfFuncInfo is laid out exactly like it (two 32-bit fields in the kernel's
    /// order, and instruction offsets already in instructions), so on a little-endian host the records are passed as they
    /// are, without a copy per program; otherwise they are copied field by field.
    /// </summary>
    internal static ReadOnlySpan<byte> FuncInfoBytes(ReadOnlySpan<BtfFuncInfo> infos) =>
        FuncInfosAsTheyAre ? MemoryMarshal.AsBytes(infos) : MarshalFuncInfos(infos);

    /// <summary>The records as bpf_line_info bytes; see <see cref="FuncInfoBytes"/>.</summary>
    internal static ReadOnlySpan<byte> LineInfoBytes(ReadOnlySpan<BtfLineInfo> infos) =>
        LineInfosAsTheyAre ? MemoryMarshal.AsBytes(infos) : MarshalLineInfos(infos);

    /// <summary>Whether <see cref="BtfFuncInfo"/> records are bpf_func_info bytes as they are (PROG_LOAD then passes them uncopied).</summary>
    internal static bool FuncInfosAsTheyAre => BitConverter.IsLittleEndian && sizeof(BtfFuncInfo) == FuncInfoRecordSize;

    /// <summary>Whether <see cref="BtfLineInfo"/> records are bpf_line_info bytes as they are.</summary>
    internal static bool LineInfosAsTheyAre => BitConverter.IsLittleEndian && sizeof(BtfLineInfo) == LineInfoRecordSize;

    internal static byte[] MarshalFuncInfos(ReadOnlySpan<BtfFuncInfo> infos)
    {
        var bytes = new byte[infos.Length * FuncInfoRecordSize];
        var words = MemoryMarshal.Cast<byte, uint>(bytes.AsSpan());
        for (int i = 0; i < infos.Length; i++)
        {
            words[2 * i] = (uint)infos[i].InstructionOffset;
            words[2 * i + 1] = infos[i].TypeId;
        }
        return bytes;
    }

    internal static byte[] MarshalLineInfos(ReadOnlySpan<BtfLineInfo> infos)
    {
        var bytes = new byte[infos.Length * LineInfoRecordSize];
        var words = MemoryMarshal.Cast<byte, uint>(bytes.AsSpan());
        for (int i = 0; i < infos.Length; i++)
        {
            words[4 * i] = (uint)infos[i].InstructionOffset;
            words[4 * i + 1] = infos[i].FileNameOffset;
            words[4 * i + 2] = infos[i].LineOffset;
            words[4 * i + 3] = infos[i].LineCol;
        }
        return bytes;
    }

    internal static byte[] NulTerminated(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>The log text up to its NUL (the kernel NUL-terminates what it wrote).</summary>
    internal static string DecodeLog(ReadOnlySpan<byte> buffer)
    {
        int end = buffer.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? buffer : buffer[..end]);
    }

    /// <summary>The kernel (6.4+) tells how much it needed; older ones don't, so double.</summary>
    internal static uint NextLogSize(uint current, uint trueSize) =>
        trueSize > current ? Math.Min(trueSize, MaxLogSize) : (uint)Math.Min((ulong)current * 2, MaxLogSize);
}
