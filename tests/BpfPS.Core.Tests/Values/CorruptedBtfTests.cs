using BpfPS.Core.Btf;
using BpfPS.Core.Elf;
using BpfPS.Core.Values;

namespace BpfPS.Core.Tests.Values;

/// <summary>
/// The codec over BTF with bytes flipped at random (fixed seed): whatever the damage, it answers with a value, a
/// BpfFormatException or a BtfValueException, never IndexOutOfRange, NullReference, Overflow or a stack overflow.
/// </summary>
public class CorruptedBtfTests
{
    /// <summary>Types larger than this are skipped: the test is about robustness, not about allocating big buffers.</summary>
    private const uint MaxValueSize = 1 << 16;

    [SkippableFact]
    public void RandomlyDamagedBtfNeverCrashesTheCodec()
    {
        Skip.IfNot(Fixtures.ClangAvailable || File.Exists(Path.Combine(Fixtures.RepositoryRoot, "build", "fixtures", "map_values.o")),
            "clang-14 is needed to compile tests/fixtures/map_values.c");
        var elf = ElfFile.Load(Fixtures.Path("map_values"));
        Assert.True(elf.TryGetSection(".BTF", out var section));
        var original = elf.GetData(section).ToArray();
        var random = new Random(20261125);
        int decoded = 0;

        for (int round = 0; round < 300; round++)
        {
            var damaged = original.ToArray();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
                damaged[random.Next(24, damaged.Length)] ^= (byte)random.Next(1, 256);   // past the header: damage types and strings
            BtfSpec spec;
            try
            {
                spec = BtfSpec.Parse(damaged, $"round {round}");
            }
            catch (BpfFormatException)
            {
                continue;
            }
            for (uint id = 1; id < spec.NextTypeId; id++)
                decoded += Exercise(spec, id, random) ? 1 : 0;
        }
        Assert.True(decoded > 1000, $"only {decoded} values decoded: the damage is too heavy to test the codec");
    }

    private static bool Exercise(BtfSpec spec, uint id, Random random)
    {
        try
        {
            if (spec.SizeOf(id) > MaxValueSize) return false;
            var codec = new BtfValueCodec(spec, id);
            var bytes = new byte[codec.Size];
            random.NextBytes(bytes);
            var value = codec.Decode(bytes);
            codec.Encode(value);
            return true;
        }
        catch (Exception e) when (e is BpfFormatException or BtfValueException)
        {
            return false;
        }
    }
}
