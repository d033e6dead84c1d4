namespace BpfPS.Fuzz;

/// <summary>"--name value" pairs and positional arguments.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _named = new(StringComparer.Ordinal);
    public List<string> Positional { get; } = new();

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) o._named[args[i][2..]] = args[++i];
            else o.Positional.Add(args[i]);
        }
        return o;
    }

    public string? Get(string name) => _named.GetValueOrDefault(name);
    public string Get(string name, string fallback) => _named.GetValueOrDefault(name) ?? fallback;
}
