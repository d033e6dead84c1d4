namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>
/// Finds the fields of a .BTF.ext blob (libbpf's btf_ext_header): the header's offsets and lengths, and in each of the
/// func_info, line_info and core_relo areas the record size, each section block's name offset and count, and the records.
/// </summary>
public static class BtfExtLayout
{
    public static InputLayout Of(ReadOnlySpan<byte> ext)
    {
        var layout = new InputLayout();
        Scan(layout, ext, 0, ext.Length);
        return layout;
    }

    public static void Scan(InputLayout layout, ReadOnlySpan<byte> b, int start, int blobLength)
    {
        layout.Add(start + 2, 1, "ext.version", blobLength);
        layout.Add(start + 3, 1, "ext.flags", blobLength);
        layout.Add(start + 4, 4, "ext.hdr_len", blobLength);
        uint headerLength = LayoutReading.U32(b, start + 4);
        if (headerLength < 24 || headerLength > 256) return;
        string[] areas = ["func_info", "line_info", "core_relo"];
        for (int area = 0; area < 3; area++)
        {
            int field = start + 8 + area * 8;
            if (field + 8 > start + headerLength) break;
            layout.Add(field, 4, $"ext.{areas[area]}_off", blobLength);
            layout.Add(field + 4, 4, $"ext.{areas[area]}_len", blobLength);
            long at = start + headerLength + LayoutReading.U32(b, field);
            long end = Math.Min(at + LayoutReading.U32(b, field + 4), b.Length);
            if (at + 4 > end) continue;
            uint recordSize = LayoutReading.U32(b, at);
            layout.Add((int)at, 4, $"ext.{areas[area]}.rec_size", blobLength);
            layout.Hint(recordSize);
            if (recordSize is 0 or > 64) continue;
            at += 4;
            for (int blocks = 0; at + 8 <= end && blocks < 256; blocks++)
            {
                uint count = LayoutReading.U32(b, at + 4);
                layout.Add((int)at, 4, "ext.sec_name_off", blobLength);
                layout.Add((int)at + 4, 4, "ext.num_info", blobLength);
                layout.Hint(count);
                at += 8;
                for (uint r = 0; r < count && at + recordSize <= end; r++, at += recordSize)
                {
                    if (r >= 512) { at += (count - r) * (long)recordSize; break; }
                    for (int f = 0; f + 4 <= recordSize; f += 4)
                        layout.Add((int)at + f, 4, $"ext.{areas[area]}.record", blobLength);
                }
            }
        }
    }
}
