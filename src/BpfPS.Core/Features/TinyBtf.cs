using System.Buffers.Binary;
using System.Text;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// Hand-built BTF blobs of a few types each, for probing which BTF kinds the kernel's BPF_BTF_LOAD accepts. Type 1 is
/// always a 4-byte signed int named "int"; each probe adds the kind it asks about on top.
/// </summary>
internal sealed class TinyBtf
{
    private const ushort Magic = 0xeb9f;
    private const int HeaderLength = 24;
    private readonly List<uint> _words = [];
    private readonly List<byte> _strings = [0];

    private TinyBtf()
    {
        // [1] int: INT, size 4, signed, 32 bits.
        Type(Name("int"), kind: 1, vlen: 0, sizeOrType: 4);
        _words.Add((1u << 24) | 32);
    }

    /// <summary>A blob holding only "int".</summary>
    internal static byte[] IntOnly() => new TinyBtf().ToArray();

    /// <summary>The BTF kinds probed, each with the blob that uses it: kind number, name, blob.</summary>
    internal static IEnumerable<(int Kind, string Name, string Shape, byte[] Blob)> KindProbes()
    {
        var b = new TinyBtf();
        b.Type(b.Name("s"), kind: 4, vlen: 1, sizeOrType: 4);   // [2] struct s { int a; }
        b._words.AddRange([b.Name("a"), 1, 0]);
        b.Type(0, kind: 2, vlen: 0, sizeOrType: 2);             // [3] struct s *
        yield return (4, "struct", "struct s { int a; } and a pointer to it", b.ToArray());

        b = new TinyBtf();
        b.Type(0, kind: 13, vlen: 1, sizeOrType: 1);            // [2] int (int x)
        b._words.AddRange([b.Name("x"), 1]);
        b.Type(b.Name("f"), kind: 12, vlen: 0, sizeOrType: 2);  // [3] static int f(int x)
        yield return (12, "func", "static func over a func_proto", b.ToArray());

        b = new TinyBtf();
        b.Type(0, kind: 13, vlen: 0, sizeOrType: 1);
        b.Type(b.Name("f"), kind: 12, vlen: 1, sizeOrType: 2);  // linkage BTF_FUNC_GLOBAL in vlen
        yield return (12, "func_global", "global func (linkage in vlen)", b.ToArray());

        b = new TinyBtf();
        b.Type(b.Name("x"), kind: 14, vlen: 0, sizeOrType: 1);  // [2] var int x (static)
        b._words.Add(0);
        b.Type(b.Name(".data"), kind: 15, vlen: 1, sizeOrType: 4); // [3] datasec .data { x }
        b._words.AddRange([2, 0, 4]);
        yield return (15, "datasec", "var in a datasec", b.ToArray());

        b = new TinyBtf();
        b.Type(b.Name("float"), kind: 16, vlen: 0, sizeOrType: 4);
        yield return (16, "float", "4-byte float", b.ToArray());

        b = new TinyBtf();
        b.Type(b.Name("x"), kind: 14, vlen: 0, sizeOrType: 1);  // [2] var int x
        b._words.Add(0);
        b.Type(b.Name("tag"), kind: 17, vlen: 0, sizeOrType: 2); // [3] decl_tag "tag" on x
        b._words.Add(uint.MaxValue);                              // component_idx -1: the var itself
        yield return (17, "decl_tag", "decl_tag on a var", b.ToArray());

        b = new TinyBtf();
        b.Type(b.Name("tag"), kind: 18, vlen: 0, sizeOrType: 1); // [2] int __tag("tag")
        b.Type(0, kind: 2, vlen: 0, sizeOrType: 2);              // [3] pointer to it
        yield return (18, "type_tag", "pointer to a type_tag'd int", b.ToArray());

        b = new TinyBtf();
        b.Type(b.Name("e"), kind: 19, vlen: 1, sizeOrType: 8);   // [2] enum64 e { v = 1 << 40 }
        b._words.AddRange([b.Name("v"), 0, 1u << 8]);
        yield return (19, "enum64", "64-bit enum", b.ToArray());
    }

    /// <summary>Loads <paramref name="blob"/>; the kernel's BTF log says why when it refuses.</summary>
    internal static ProbeResult Probe(string shape, byte[] blob)
    {
        try
        {
            using var fd = BpfSyscall.BtfLoad(blob, logLevel: 1, logSize: 4096);
            return ProbeResult.Yes($"BPF_BTF_LOAD accepts a {shape}");
        }
        catch (BpfSyscallException e)
        {
            var log = (e.Log ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var why = $"BPF_BTF_LOAD: {Errno.Describe(e.ErrorNumber)}";
            return ProbeResult.No(log.Length > 0 ? $"{why} (BTF log: {log[^1]})" : why, e.ErrorNumber);
        }
    }

    private void Type(uint nameOffset, int kind, int vlen, uint sizeOrType)
    {
        _words.Add(nameOffset);
        _words.Add(((uint)kind << 24) | (uint)vlen);
        _words.Add(sizeOrType);
    }

    private uint Name(string name)
    {
        uint offset = (uint)_strings.Count;
        _strings.AddRange(Encoding.ASCII.GetBytes(name));
        _strings.Add(0);
        return offset;
    }

    private byte[] ToArray()
    {
        int typeLength = _words.Count * 4;
        var blob = new byte[HeaderLength + typeLength + _strings.Count];
        var span = blob.AsSpan();
        BinaryPrimitives.WriteUInt16LittleEndian(span, Magic);
        span[2] = 1;                                                        // version
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], HeaderLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], 0);             // type_off
        BinaryPrimitives.WriteUInt32LittleEndian(span[12..], (uint)typeLength);
        BinaryPrimitives.WriteUInt32LittleEndian(span[16..], (uint)typeLength); // str_off
        BinaryPrimitives.WriteUInt32LittleEndian(span[20..], (uint)_strings.Count);
        for (int i = 0; i < _words.Count; i++)
            BinaryPrimitives.WriteUInt32LittleEndian(span[(HeaderLength + 4 * i)..], _words[i]);
        _strings.ToArray().CopyTo(span[(HeaderLength + typeLength)..]);
        return blob;
    }
}
