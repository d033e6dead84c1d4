namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// Finds the fields of a raw BTF blob (uapi linux/btf.h): the header, then every type's name offset, vlen, kind byte and
/// size/type, and each kind's trailing records (int encoding, array, members, enumerators, parameters, var, datasec
/// entries, decl_tag component).
/// </summary>
public static class BtfLayout
{
    private const int HeaderSize = 24;

    public static InputLayout Of(ReadOnlySpan<byte> btf)
    {
        var layout = new InputLayout();
        Scan(layout, btf, 0, btf.Length);
        return layout;
    }

    /// <summary>Adds the fields of the BTF blob at <paramref name="start"/> (inside a larger blob of <paramref name="blobLength"/> bytes).</summary>
    public static void Scan(InputLayout layout, ReadOnlySpan<byte> blob, int start, int blobLength)
    {
        var b = blob;
        layout.Add(start + 2, 1, "btf.version", blobLength);
        layout.Add(start + 3, 1, "btf.flags", blobLength);
        string[] header = ["btf.hdr_len", "btf.type_off", "btf.type_len", "btf.str_off", "btf.str_len"];
        for (int i = 0; i < header.Length; i++)
            layout.Add(start + 4 + i * 4, 4, header[i], blobLength);

        uint headerLength = LayoutReading.U32(b, start + 4);
        uint typeOff = LayoutReading.U32(b, start + 8), typeLen = LayoutReading.U32(b, start + 12);
        uint strOff = LayoutReading.U32(b, start + 16), strLen = LayoutReading.U32(b, start + 20);
        if (headerLength < HeaderSize || headerLength > 256) return;
        layout.Hint(strLen);
        layout.Hint(typeLen);

        long at = start + headerLength + typeOff, end = Math.Min(at + typeLen, b.Length);
        uint types = 0;
        while (at + 12 <= end && types < 20000)
        {
            types++;
            uint info = LayoutReading.U32(b, at + 4);
            int kind = (int)(info >> 24) & 0x1f, vlen = (int)(info & 0xffff);
            int a = (int)at;
            layout.Add(a, 4, "btf.name_off", blobLength);
            layout.Add(a + 4, 2, "btf.vlen", blobLength);
            layout.Add(a + 7, 1, "btf.kind", blobLength);
            layout.Add(a + 8, 4, kind is 1 or 4 or 5 or 6 or 15 or 16 or 19 ? "btf.size" : "btf.type_id", blobLength);
            int data = a + 12;
            int recordSize = kind switch { 4 or 5 or 15 or 19 => 12, 6 or 13 => 8, _ => 0 };
            int fixedSize = kind switch { 1 or 14 or 17 => 4, 3 => 12, _ => 0 };
            for (int f = 0; f < fixedSize; f += 4)
                layout.Add(data + f, 4, kind == 3 ? "btf.array" : "btf.trailing", blobLength);
            for (int r = 0; r < vlen && r < 512; r++)
            {
                int rec = data + fixedSize + r * recordSize;
                for (int f = 0; f < recordSize; f += 4)
                    layout.Add(rec + f, 4, f == 0 && kind != 15 ? "btf.member_name" : "btf.member_field", blobLength);
            }
            at = data + fixedSize + (long)vlen * recordSize;
        }
        layout.Hint(types);
        layout.Hint(types + 1);
        _ = strOff;
    }
}
