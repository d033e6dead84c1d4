using BpfPS.Core.Btf;
using BpfPS.Core.Elf;

namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>One valid starting input: its blobs and where their fields are.</summary>
public sealed record FuzzSeed(string Origin, byte[][] Blobs, InputLayout[] Layouts);

/// <summary>
/// Turns compiled fixture objects into seeds for each target: the whole object (ELF, object parser), its .BTF (BTF
/// decoder), its .BTF and .BTF.ext (BTF.ext reader), and for each program section with CO-RE records the .BTF, .BTF.ext and
/// that section's instructions (CO-RE engine).
/// </summary>
public static class FuzzSeeds
{
    public static IReadOnlyList<FuzzSeed> For(FuzzTarget target, IEnumerable<(string Name, byte[] Bytes)> objects)
    {
        var seeds = new List<FuzzSeed>();
        foreach (var (name, bytes) in objects)
        {
            foreach (var blobs in BlobsFor(target, name, bytes))
            {
                var layouts = new InputLayout[blobs.Length];
                for (int i = 0; i < blobs.Length; i++)
                    layouts[i] = FuzzTarget.LayoutOf(target.Blobs[i], blobs[i]);
                seeds.Add(new FuzzSeed(name, blobs, layouts));
            }
        }
        return seeds;
    }

    /// <summary>The fixtures' compiled objects in build/fixtures (or another folder), in name order.</summary>
    public static IReadOnlyList<(string Name, byte[] Bytes)> ObjectsIn(string directory) =>
        Directory.GetFiles(directory, "*.o").Order(StringComparer.Ordinal)
            .Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))).ToList();

    private static IEnumerable<byte[][]> BlobsFor(FuzzTarget target, string name, byte[] bytes)
    {
        if (target.Blobs is [BlobKind.Elf])
        {
            yield return [bytes];
            yield break;
        }
        var elf = ElfFile.Parse(bytes, name);
        if (!elf.TryGetSection(".BTF", out var btfSection)) yield break;
        byte[] btf = elf.GetData(btfSection).ToArray();
        if (target.Blobs is [BlobKind.Btf])
        {
            yield return [btf];
            yield break;
        }
        if (!elf.TryGetSection(".BTF.ext", out var extSection)) yield break;
        byte[] ext = elf.GetData(extSection).ToArray();
        if (target.Blobs is [BlobKind.Btf, BlobKind.BtfExt])
        {
            yield return [btf, ext];
            yield break;
        }
        var parsedExt = BtfExt.Parse(ext, BtfSpec.Parse(btf, name), name);
        foreach (var section in parsedExt.Sections.Values)
        {
            if (section.CoreRelocations.IsEmpty || !elf.TryGetSection(section.SectionName, out var code)) continue;
            // Only this section's records: the ext blob still holds every section's, as the object does.
            yield return [btf, ext, elf.GetData(code).ToArray()];
        }
    }
}
