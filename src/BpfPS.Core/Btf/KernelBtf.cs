using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace BpfPS.Core.Btf;

/// <summary>
/// The running kernel's BTF: vmlinux, shared by everyone in the process while anyone holds it, and module BTF split on it.
/// </summary>
/// <remarks>
/// The process keeps only a <see cref="WeakReference{T}"/> to the vmlinux spec: runspaces and loads hold the strong
/// references, and once they all let go the spec (its offsets, name index and decoded types) can be collected, rather
/// than pinning megabytes for the life of the process (cilium/ebpf dropped such a global cache for that reason).
/// The bytes themselves are, where the kernel allows it (Linux 6.16+), a read-only private mapping of
/// /sys/kernel/btf/vmlinux: those pages are the kernel's own copy of its BTF, so the mapping costs no memory, is made
/// once per process and is kept (unmapping under a live span would be unsafe). Older kernels refuse the mapping and
/// the file is read instead; then the bytes belong to the spec and go with it.
/// </remarks>
public static partial class KernelBtf
{
    /// <summary>Where the kernel publishes BTF.</summary>
    public const string SysfsDirectory = "/sys/kernel/btf";
    /// <summary>The kernel's own BTF.</summary>
    public const string VmlinuxPath = SysfsDirectory + "/vmlinux";

    private static readonly WeakShared<BtfSpec> s_vmlinux = new(() => BtfSpec.Parse(ReadVmlinux(), VmlinuxPath));
    private static ReadOnlyMemory<byte>? s_vmlinuxMapping;
    private static bool s_mappingRefused;

    /// <summary>How many times vmlinux BTF was parsed in this process (for tests of sharing).</summary>
    public static int ParseCount => s_vmlinux.CreatedCount;

    /// <summary>Whether the vmlinux bytes are a mapping of the kernel's copy rather than a read (diagnostics).</summary>
    public static bool VmlinuxIsMapped => s_vmlinuxMapping is not null;

    /// <summary>
    /// The process's current vmlinux spec if one is alive, else parses /sys/kernel/btf/vmlinux once (concurrent callers
    /// wait for that parse and get the same instance).
    /// </summary>
    /// <exception cref="FileNotFoundException">The kernel publishes no BTF (CONFIG_DEBUG_INFO_BTF off).</exception>
    /// <exception cref="BpfFormatException">The kernel's BTF is malformed.</exception>
    public static BtfSpec GetVmlinux() => s_vmlinux.Get();

    /// <summary>A kernel module's BTF (/sys/kernel/btf/&lt;module&gt;), split on <paramref name="vmlinux"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="module"/> is not a plain module name.</exception>
    /// <exception cref="FileNotFoundException">The module is not loaded or has no BTF.</exception>
    public static BtfSpec LoadModule(string module, BtfSpec vmlinux)
    {
        ArgumentException.ThrowIfNullOrEmpty(module);
        ArgumentNullException.ThrowIfNull(vmlinux);
        if (module is "." or ".." or "vmlinux" || module.AsSpan().IndexOfAny('/', '\0') >= 0)
            throw new ArgumentException($"'{module}' is not a kernel module name", nameof(module));
        return BtfSpec.LoadFile(Path.Combine(SysfsDirectory, module), vmlinux);
    }

    /// <summary>Names of the loaded modules that publish BTF, sorted (empty when there are none).</summary>
    public static IReadOnlyList<string> ModuleNames()
    {
        if (!Directory.Exists(SysfsDirectory))
            return Array.Empty<string>();
        var names = Directory.EnumerateFiles(SysfsDirectory)
            .Select(Path.GetFileName)
            .Where(n => n is not null and not "vmlinux")
            .Select(n => n!)
            .ToList();
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>
    /// BTF for a custom target: a raw BTF file (e.g. from BTFHub) or an ELF file (e.g. a vmlinux image) whose .BTF
    /// section is used. Only the ELF headers and the .BTF section are read.
    /// </summary>
    /// <exception cref="BpfFormatException">Not BTF, an ELF without .BTF, or malformed.</exception>
    public static BtfSpec LoadFromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = File.OpenHandle(path);
        Span<byte> magic = stackalloc byte[4];
        int got = RandomAccess.Read(file, magic, 0);
        if (got == 4 && magic.SequenceEqual("\u007fELF"u8))
            return BtfSpec.Parse(ElfBtfSection.Read(file, path), path + ":.BTF");
        long length = RandomAccess.GetLength(file);
        if (length > int.MaxValue)
            throw new BpfFormatException($"{length} bytes is too large for a raw BTF file", path);
        var bytes = new byte[length];
        ReadExactly(file, bytes, 0, path);
        return BtfSpec.Parse(bytes, path);
    }

    private static ReadOnlyMemory<byte> ReadVmlinux()
    {
        if (s_vmlinuxMapping is { } mapped)
            return mapped;
        if (!s_mappingRefused)
        {
            var mapping = ReadOnlyMapping.TryMap(VmlinuxPath);
            if (mapping is not null)
                return (s_vmlinuxMapping = mapping.Memory).Value;
            s_mappingRefused = true;
        }
        return File.ReadAllBytes(VmlinuxPath);
    }

    internal static void ReadExactly(SafeFileHandle file, Span<byte> buffer, long offset, string path)
    {
        while (!buffer.IsEmpty)
        {
            int n = RandomAccess.Read(file, buffer, offset);
            if (n <= 0)
                throw new BpfFormatException($"file ends before offset {offset + buffer.Length}", path);
            buffer = buffer[n..];
            offset += n;
        }
    }

    /// <summary>A PROT_READ, MAP_PRIVATE mapping of a whole file that lives as long as the process.</summary>
    private sealed unsafe partial class ReadOnlyMapping : MemoryManager<byte>
    {
        private readonly byte* _address;
        private readonly int _length;

        private ReadOnlyMapping(byte* address, int length)
        {
            _address = address;
            _length = length;
        }

        public static ReadOnlyMapping? TryMap(string path)
        {
            if (!OperatingSystem.IsLinux())
                return null;
            try
            {
                using var file = File.OpenHandle(path);
                long length = RandomAccess.GetLength(file);
                if (length <= 0 || length > int.MaxValue)
                    return null;
                nint address = Mmap(0, (nuint)length, ProtRead, MapPrivate, (int)file.DangerousGetHandle(), 0);
                return address == -1 ? null : new ReadOnlyMapping((byte*)address, (int)length);
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }

        public override Span<byte> GetSpan() => new(_address, _length);
        public override MemoryHandle Pin(int elementIndex = 0) => new(_address + elementIndex);
        public override void Unpin() { }
        protected override void Dispose(bool disposing) { }

        private const int ProtRead = 1, MapPrivate = 2;

        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        private static partial nint Mmap(nint address, nuint length, int protection, int flags, int fd, nint offset);
    }
}

/// <summary>
/// One instance shared weakly: created once while anyone holds it (concurrent callers wait for that one creation),
/// created again only after every holder let go and the collector took it.
/// </summary>
internal sealed class WeakShared<T>(Func<T> create) where T : class
{
    private readonly Lock _gate = new();
    private WeakReference<T>? _current;
    private int _created;

    /// <summary>How many times the instance was created.</summary>
    public int CreatedCount => Volatile.Read(ref _created);

    public T Get()
    {
        if (Volatile.Read(ref _current) is { } weak && weak.TryGetTarget(out var value))
            return value;
        lock (_gate)
        {
            if (_current is { } again && again.TryGetTarget(out value))
                return value;
            value = create();
            Interlocked.Increment(ref _created);
            Volatile.Write(ref _current, new WeakReference<T>(value));
            return value;
        }
    }
}

/// <summary>Just enough ELF64 to find one section's bytes without reading the rest of a (possibly huge) file.</summary>
internal static class ElfBtfSection
{
    private const string Part = "ELF header";
    private const uint ShtNobits = 8;
    /// <summary>Limits that only a corrupt file exceeds (a vmlinux image has under a hundred sections, a few KiB of names).</summary>
    private const uint MaxSections = 1 << 20;
    private const ulong MaxNameTable = 16 << 20;

    public static byte[] Read(SafeFileHandle file, string path, string sectionName = ".BTF")
    {
        Span<byte> header = stackalloc byte[64];
        KernelBtf.ReadExactly(file, header, 0, path);
        if (header[4] != 2)
            throw new BpfFormatException("only 64-bit ELF files are supported", path, Part, 4);
        if (header[5] != 1)
            throw new BpfFormatException("only little-endian ELF files are supported", path, Part, 5);
        ulong sectionHeaders = BinaryPrimitives.ReadUInt64LittleEndian(header[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3a..]);
        uint count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3c..]);
        uint namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3e..]);
        if (sectionHeaders == 0)
            throw new BpfFormatException("ELF file has no section headers", path, Part, 0x28);
        if (entrySize < 64)
            throw new BpfFormatException($"section header size {entrySize} is below 64", path, Part, 0x3a);
        long fileLength = RandomAccess.GetLength(file);

        Span<byte> entry = stackalloc byte[64];
        if (count == 0 || namesIndex == 0xffff)
        {
            // More than 0xff00 sections: the real count and string-table index live in section 0.
            KernelBtf.ReadExactly(file, entry, (long)sectionHeaders, path);
            if (count == 0) count = (uint)BinaryPrimitives.ReadUInt64LittleEndian(entry[0x20..]);
            if (namesIndex == 0xffff) namesIndex = BinaryPrimitives.ReadUInt32LittleEndian(entry[0x28..]);
        }
        if (count > MaxSections)
            throw new BpfFormatException($"{count} sections is more than this reader accepts ({MaxSections})", path, Part, 0x3c);
        if ((ulong)count * (ulong)entrySize + sectionHeaders > (ulong)fileLength)
            throw new BpfFormatException($"{count} section headers at 0x{sectionHeaders:x} run past the end of the file", path, Part, 0x28);
        if (namesIndex >= count)
            throw new BpfFormatException($"section name table index {namesIndex} is not below the section count {count}", path, Part, 0x3e);

        var table = new byte[checked((int)(count * (uint)entrySize))];
        KernelBtf.ReadExactly(file, table, (long)sectionHeaders, path);
        var namesHeader = table.AsSpan((int)namesIndex * entrySize, 64);
        if (BinaryPrimitives.ReadUInt64LittleEndian(namesHeader[0x20..]) > MaxNameTable)
            throw new BpfFormatException("section name table is larger than 16 MiB", path, "section name table");
        var names = ReadSection(file, path, namesHeader, fileLength, "section name table");
        var wanted = System.Text.Encoding.ASCII.GetBytes(sectionName);
        for (int i = 0; i < count; i++)
        {
            var sh = table.AsSpan(i * entrySize, 64);
            uint nameOffset = BinaryPrimitives.ReadUInt32LittleEndian(sh);
            if (nameOffset >= names.Length)
                continue;
            var name = names.AsSpan((int)nameOffset);
            int nul = name.IndexOf((byte)0);
            if (nul >= 0 && name[..nul].SequenceEqual(wanted) && BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtNobits)
                return ReadSection(file, path, sh, fileLength, sectionName);
        }
        throw new BpfFormatException($"ELF file has no {sectionName} section", path);
    }

    private static byte[] ReadSection(SafeFileHandle file, string path, ReadOnlySpan<byte> sh, long fileLength, string what)
    {
        ulong offset = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x18..]), size = BinaryPrimitives.ReadUInt64LittleEndian(sh[0x20..]);
        if (offset + size > (ulong)fileLength || size > int.MaxValue)
            throw new BpfFormatException($"{what} [0x{offset:x}, +0x{size:x}) runs past the end of the file", path, what);
        var bytes = new byte[size];
        KernelBtf.ReadExactly(file, bytes, (long)offset, path);
        return bytes;
    }
}
