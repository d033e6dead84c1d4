using System.Runtime.InteropServices;
using System.Text;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;
using BpfPS.Core.Values;

namespace BpfPS.Core.Links;

/// <summary>
/// BPF iterators (iter/task, iter/bpf_map...): a link (BPF_TRACE_ITER) from which every BPF_ITER_CREATE gives a file;
/// reading the file runs the program over the kernel objects and returns what it wrote.
/// </summary>
public static unsafe class IteratorLinks
{
    /// <summary>Makes the iterator link for an iter/... program; <paramref name="map"/> for iterators over one map's elements.</summary>
    /// <exception cref="LinkAttachException">Not an iterator program, or the kernel refused.</exception>
    public static KernelLink Attach(LoadedProgram program, LoadedMap? map = null)
    {
        ArgumentNullException.ThrowIfNull(program);
        var target = RawTracepointLinks.TracingTarget(program).Replace("iter ", "iterator ", StringComparison.Ordinal);
        if (map is not null) target += $" (map {map.Name})";
        if (program.Type != BpfProgramType.Tracing || program.ExpectedAttachType != BpfAttachType.TraceIter)
            throw new LinkAttachException(program.Name, target, $"a {program.Type} program from '{program.SectionName}' is not an iterator (it needs SEC(\"iter/...\"))");
        var attr = new LinkCreateAttr { AttachType = (uint)BpfAttachType.TraceIter };
        if (map is null) return KernelLink.Create(program, ref attr, target);
        using var m = map.Fd.Lease();
        var info = new IterLinkInfo { MapFd = (uint)m.Value };
        attr.IterInfo = (ulong)&info;
        attr.IterInfoLength = (uint)sizeof(IterLinkInfo);
        return KernelLink.Create(program, ref attr, target);
    }

    /// <summary>Runs the iterator once (BPF_ITER_CREATE, then read to the end) and returns everything it wrote.</summary>
    /// <exception cref="BpfSyscallException">The link is not an iterator link.</exception>
    /// <exception cref="IOException">read() failed (e.g. the program overflowed a seq_file page: E2BIG).</exception>
    public static byte[] Run(KernelLink link)
    {
        ArgumentNullException.ThrowIfNull(link);
        ObjectDisposedException.ThrowIf(link.IsDisposed, link);
        using var iterator = BpfSyscall.IterCreate(link.Fd!);
        using var lease = iterator.Lease();
        var output = new MemoryStream();
        var buffer = new byte[64 * 1024];
        fixed (byte* b = buffer)
        {
            while (true)
            {
                nint n = NativeMethods.Read(lease.Value, b, buffer.Length);
                if (n < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Errno.EINTR || errno == Errno.EAGAIN) continue;
                    throw new IOException($"reading iterator {link.Target}: {Errno.Describe(errno)}");
                }
                if (n == 0) break;
                output.Write(buffer, 0, (int)n);
            }
        }
        return output.ToArray();
    }

    /// <summary>The iterator's output as text lines (for programs that print with BPF_SEQ_PRINTF / bpf_seq_printf).</summary>
    public static IReadOnlyList<string> RunLines(KernelLink link)
    {
        var text = Encoding.UTF8.GetString(Run(link));
        var lines = text.Split('\n');
        return lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
    }

    /// <summary>
    /// The iterator's output as records of BTF type <paramref name="typeName"/> from <paramref name="btf"/> (for programs
    /// that write structs with bpf_seq_write), decoded like map values.
    /// </summary>
    /// <exception cref="KeyNotFoundException">The BTF has no type of that name.</exception>
    /// <exception cref="InvalidDataException">The output is not a whole number of records.</exception>
    public static IReadOnlyList<object?> RunRecords(KernelLink link, BtfSpec btf, string typeName)
    {
        ArgumentNullException.ThrowIfNull(btf);
        uint typeId = ResolveType(btf, typeName);
        int size = (int)btf.SizeOf(typeId);
        if (size <= 0) throw new InvalidDataException($"type '{typeName}' has no size");
        var bytes = Run(link);
        if (bytes.Length % size != 0)
            throw new InvalidDataException($"the iterator wrote {bytes.Length} bytes, not a whole number of {size}-byte '{typeName}' records");
        // Structs and unions become instances of the class generated for them (typed properties, as Receive-BpfEvent
        // gives); other types, and composites no class can carry, their decoded value.
        var recordType = RecordTypes.For(btf, typeId);
        var records = new List<object?>(bytes.Length / size);
        for (int at = 0; at < bytes.Length; at += size)
        {
            var record = bytes.AsSpan(at, size);
            if (recordType is { CanRead: true })
            {
                records.Add(recordType.Read(record));
                continue;
            }
            var decoded = BtfValueCodec.Decode(btf, typeId, record);
            records.Add(recordType is not null && decoded is BtfRecord fields ? recordType.Create(fields) : decoded);
        }
        return records;
    }

    /// <summary>A named struct/union/typedef/int in <paramref name="btf"/>: "task_record" or "struct task_record".</summary>
    private static uint ResolveType(BtfSpec btf, string typeName)
    {
        var name = typeName.Trim();
        foreach (var prefix in new[] { "struct ", "union ", "enum " })
            if (name.StartsWith(prefix, StringComparison.Ordinal)) name = name[prefix.Length..].Trim();
        var ids = btf.FindByName(name);
        foreach (var id in ids)
            if (btf.GetKind(id) is not (BtfKind.Func or BtfKind.FuncProto or BtfKind.Var or BtfKind.Datasec or BtfKind.Fwd or BtfKind.DeclTag)) return id;
        throw new KeyNotFoundException($"the object's BTF has no type '{typeName}'");
    }
}
