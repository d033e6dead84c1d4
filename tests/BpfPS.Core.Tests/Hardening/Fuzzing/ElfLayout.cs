using System.Text;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// Finds the fields of an ELF64 relocatable object (the System V gABI layout): ELF header fields, every section
/// header's fields, symbol table entries, SHT_REL entries (with the symbol index half of r_info on its own), the
/// instructions of executable sections, legacy "maps" definitions, and the .BTF and .BTF.ext blobs inside.
/// </summary>
public static class ElfLayout
{
    private const int SectionHeaderSize = 64, SymbolSize = 24, RelSize = 16;
    private const uint ShtSymtab = 2, ShtRel = 9, ShfExecInstr = 4;

    public static InputLayout Of(ReadOnlySpan<byte> elf)
    {
        var layout = new InputLayout();
        int n = elf.Length;
        layout.Hint((ulong)n);
        foreach (var (offset, width, role) in HeaderFields)
            layout.Add(offset, width, role, n);

        ulong shoff = LayoutReading.Read(elf, 40, 8);
        int shnum = (int)LayoutReading.Read(elf, 60, 2), shstrndx = (int)LayoutReading.Read(elf, 62, 2);
        if (shoff == 0 || shoff >= (ulong)n || shnum == 0) return layout;
        layout.Hint((ulong)shnum);
        long namesOffset = (long)LayoutReading.Read(elf, (long)shoff + shstrndx * SectionHeaderSize + 24, 8);

        for (int i = 0; i < shnum; i++)
        {
            long h = (long)shoff + i * SectionHeaderSize;
            if (h + SectionHeaderSize > n) break;
            foreach (var (offset, width, role) in SectionHeaderFields)
                layout.Add((int)h + offset, width, role, n);

            uint type = LayoutReading.U32(elf, h + 4);
            ulong flags = LayoutReading.Read(elf, h + 8, 8);
            long offsetInFile = (long)LayoutReading.Read(elf, h + 24, 8);
            long size = (long)LayoutReading.Read(elf, h + 32, 8);
            if (offsetInFile < 0 || size < 0 || offsetInFile + size > n) continue;
            layout.Hint((ulong)size);
            string name = NameAt(elf, namesOffset + LayoutReading.U32(elf, h));
            var data = elf.Slice((int)offsetInFile, (int)size);

            if (type == ShtSymtab)
            {
                layout.Hint((ulong)(size / SymbolSize));
                for (long s = 0; s + SymbolSize <= size && s < 2048 * SymbolSize; s += SymbolSize)
                {
                    int at = (int)(offsetInFile + s);
                    layout.Add(at, 4, "sym.st_name", n);
                    layout.Add(at + 4, 1, "sym.st_info", n);
                    layout.Add(at + 6, 2, "sym.st_shndx", n);
                    layout.Add(at + 8, 8, "sym.st_value", n);
                    layout.Add(at + 16, 8, "sym.st_size", n);
                }
            }
            else if (type == ShtRel)
            {
                for (long r = 0; r + RelSize <= size && r < 2048 * RelSize; r += RelSize)
                {
                    int at = (int)(offsetInFile + r);
                    layout.Add(at, 8, "rel.r_offset", n);
                    layout.Add(at + 8, 4, "rel.type", n);
                    layout.Add(at + 12, 4, "rel.symbol", n);
                }
            }
            else if ((flags & ShfExecInstr) != 0)
                InstructionLayout.Scan(layout, (int)offsetInFile, (int)size, n, limit: 256);
            else if (name == ".BTF")
                BtfLayout.Scan(layout, elf, (int)offsetInFile, n);
            else if (name == ".BTF.ext")
                BtfExtLayout.Scan(layout, elf, (int)offsetInFile, n);
            else if (name == "maps")
                for (int m = 0; m + 4 <= data.Length && m < 4096; m += 4)
                    layout.Add((int)offsetInFile + m, 4, "maps.field", n);
        }
        return layout;
    }

    private static string NameAt(ReadOnlySpan<byte> elf, long offset)
    {
        if (offset < 0 || offset >= elf.Length) return "";
        var rest = elf[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return end < 0 ? "" : Encoding.ASCII.GetString(rest[..end]);
    }

    private static readonly (int Offset, int Width, string Role)[] HeaderFields =
    [
        (4, 1, "elf.class"), (5, 1, "elf.data"), (6, 1, "elf.ident_version"), (16, 2, "elf.e_type"), (18, 2, "elf.e_machine"),
        (20, 4, "elf.e_version"), (40, 8, "elf.e_shoff"), (52, 2, "elf.e_ehsize"), (58, 2, "elf.e_shentsize"),
        (60, 2, "elf.e_shnum"), (62, 2, "elf.e_shstrndx"),
    ];

    private static readonly (int Offset, int Width, string Role)[] SectionHeaderFields =
    [
        (0, 4, "sh.name"), (4, 4, "sh.type"), (8, 8, "sh.flags"), (24, 8, "sh.offset"), (32, 8, "sh.size"),
        (40, 4, "sh.link"), (44, 4, "sh.info"), (48, 8, "sh.addralign"), (56, 8, "sh.entsize"),
    ];
}
