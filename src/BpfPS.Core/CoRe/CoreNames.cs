namespace BpfPS.Core.CoRe;

/// <summary>Name rules CO-RE uses to pair a local type, member or enumerator with the target's.</summary>
internal static class CoreNames
{
    /// <summary>
    /// The essential name: <paramref name="name"/> without its last "___flavor" suffix, where "___" must sit between two
    /// non-underscore characters (libbpf's bpf_core_essential_name_len). "foo___v2" gives "foo"; "foo___" and "____x" stay whole.
    /// </summary>
    public static ReadOnlySpan<char> Essential(ReadOnlySpan<char> name)
    {
        for (int i = name.Length - 5; i >= 0; i--)
        {
            if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
                return name[..(i + 1)];
        }
        return name;
    }

    public static bool EssentialEquals(ReadOnlySpan<char> a, ReadOnlySpan<char> b) => Essential(a).SequenceEqual(Essential(b));

    /// <summary>libbpf's bpf_core_names_match (type matching): an anonymous target matches only an anonymous local.</summary>
    public static bool MatchForTypeMatches(string local, string target) =>
        target.Length == 0 ? local.Length == 0 : EssentialEquals(local, target);
}
