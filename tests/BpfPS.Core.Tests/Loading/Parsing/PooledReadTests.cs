using System.Buffers;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parsing;

/// <summary>
/// CollectionSpec.Load parses from a pooled buffer and hands the buffer back, so nothing in a spec may point into it.
/// Each object is parsed through a pool that lets the test overwrite the buffer afterwards; the spec must still equal
/// one parsed from a private copy of the file.
/// </summary>
public class PooledReadTests
{
    public static TheoryData<string> Objects()
    {
        var data = new TheoryData<string>();
        foreach (var source in Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot, "tests", "fixtures"), "*.c").Order())
            data.Add(Path.GetFileNameWithoutExtension(source));
        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Objects))]
    public void ASpecKeepsNothingOfTheBufferItWasReadInto(string fixture)
    {
        Skip.IfNot(Fixtures.ClangAvailable, "clang-14 is needed to build the fixtures");
        string path = Fixtures.Path(fixture);
        var pool = new ScribblingPool();
        var pooled = ObjectFileReader.Parse(path, pool);
        pool.Scribble();
        var reference = CollectionSpec.Parse(File.ReadAllBytes(path), path);

        Assert.Equal(1, pool.Returned);
        AssertSameSpec(reference, pooled);
    }

    [Fact]
    public void AMissingFileIsTheUsualFileNotFound()
    {
        var missing = Path.Combine(Path.GetTempPath(), $"bpfps-missing-{Guid.NewGuid():n}.o");
        Assert.Throws<FileNotFoundException>(() => CollectionSpec.Load(missing));
    }

    // ImmutableArray's own equality compares array references, hence the ToArray() calls.
    private static void AssertSameSpec(CollectionSpec expected, CollectionSpec actual)
    {
        Assert.Equal(expected.License, actual.License);
        Assert.Equal(expected.KernelVersion, actual.KernelVersion);
        Assert.Equal(expected.Externs.ToArray(), actual.Externs.ToArray());
        Assert.Equal(expected.Btf?.RawBytes.ToArray(), actual.Btf?.RawBytes.ToArray());
        if (expected.Btf is { } btf)
        {
            // Decoding reads the spec's bytes lazily: every type must decode the same after the buffer was overwritten.
            for (uint id = btf.FirstTypeId; id < btf.NextTypeId; id++)
                Assert.Equal(BtfCDeclaration.Format(btf, id), BtfCDeclaration.Format(actual.Btf!, id));
        }

        Assert.Equal(expected.Maps.Keys, actual.Maps.Keys);
        foreach (var (name, map) in expected.Maps)
        {
            var other = actual.Maps[name];
            Assert.Equal((map.Type, map.KeySize, map.ValueSize, map.MaxEntries, map.Flags, map.NumaNode, map.MapExtra, map.Pinning),
                (other.Type, other.KeySize, other.ValueSize, other.MaxEntries, other.Flags, other.NumaNode, other.MapExtra, other.Pinning));
            Assert.Equal((map.KeyTypeId, map.ValueTypeId, map.SectionName, map.IsInternal, map.Freeze),
                (other.KeyTypeId, other.ValueTypeId, other.SectionName, other.IsInternal, other.Freeze));
            Assert.Equal(map.InitialValue, other.InitialValue);
            Assert.Equal(map.Contents.ToArray(), other.Contents.ToArray());
            Assert.Equal(map.InnerMap?.ValueSize, other.InnerMap?.ValueSize);
        }

        Assert.Equal(expected.Programs.Keys, actual.Programs.Keys);
        foreach (var (name, program) in expected.Programs)
        {
            var other = actual.Programs[name];
            Assert.Equal((program.SectionName, program.Type, program.ExpectedAttachType, program.AttachTo, program.Flags, program.License),
                (other.SectionName, other.Type, other.ExpectedAttachType, other.AttachTo, other.Flags, other.License));
            Assert.Equal(program.Instructions, other.Instructions);
            Assert.Equal(program.FuncInfos.ToArray(), other.FuncInfos.ToArray());
            Assert.Equal(program.LineInfos.ToArray(), other.LineInfos.ToArray());
            Assert.Equal(program.CoreRelocations.ToArray(), other.CoreRelocations.ToArray());
            Assert.Equal(program.References.ToArray(), other.References.ToArray());
        }
    }

    /// <summary>Hands out fresh arrays and remembers them, so the test can overwrite them once they are returned.</summary>
    private sealed class ScribblingPool : ArrayPool<byte>
    {
        private readonly List<byte[]> _rented = [];
        public int Returned { get; private set; }

        public override byte[] Rent(int minimumLength)
        {
            var array = new byte[minimumLength + 64];
            _rented.Add(array);
            return array;
        }

        public override void Return(byte[] array, bool clearArray = false)
        {
            Assert.Contains(array, _rented);
            Returned++;
        }

        public void Scribble()
        {
            foreach (var array in _rented) Array.Fill(array, (byte)0xA5);
        }
    }
}
