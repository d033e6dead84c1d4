using BpfPS.Core.Tests.Hardening.Fuzzing;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>The seed objects for the in-suite fuzz run: every fixture, the shipped example, and cilium's benchmark object.</summary>
internal static class FuzzCorpus
{
    private static readonly Lazy<IReadOnlyList<(string Name, byte[] Bytes)>> s_objects = new(Load);

    public static IReadOnlyList<(string Name, byte[] Bytes)> Objects
    {
        get
        {
            Skip.If(s_objects.Value.Count == 0, "no fixture objects: clang-14 is needed to build them");
            return s_objects.Value;
        }
    }

    public static string RegressionsDirectory => Path.Combine(Fixtures.RepositoryRoot, "tests", "BpfPS.Core.Tests", "Hardening", "regressions");

    private static IReadOnlyList<(string, byte[])> Load()
    {
        var objects = new List<(string, byte[])>();
        if (Fixtures.ClangAvailable)
            foreach (var source in Directory.GetFiles(Path.Combine(Fixtures.RepositoryRoot, "tests", "fixtures"), "*.c").Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileNameWithoutExtension(source);
                objects.Add((name + ".o", Fixtures.Bytes(name)));
            }
        foreach (var extra in new[] { Path.Combine("examples", "packet_counter.o"), Path.Combine("..", "shared", "bench", "cilium-manyprogs-el.elf") })
        {
            string path = Path.Combine(Fixtures.RepositoryRoot, extra);
            if (File.Exists(path)) objects.Add((Path.GetFileName(path), File.ReadAllBytes(path)));
        }
        return objects;
    }
}
