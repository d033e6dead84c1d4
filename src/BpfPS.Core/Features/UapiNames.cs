using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Features;

/// <summary>
/// The uapi enums as the running kernel knows them, read from its own BTF (enum bpf_prog_type, bpf_map_type,
/// bpf_attach_type, bpf_link_type, bpf_func_id): a kernel newer than this library still names every type it has.
/// Without kernel BTF, falls back to the library's own tables.
/// </summary>
public sealed class UapiNames
{
    private readonly Dictionary<long, string> _programTypes;
    private readonly Dictionary<long, string> _mapTypes;
    private readonly Dictionary<long, string> _attachTypes;
    private readonly Dictionary<long, string> _linkTypes;
    private readonly Dictionary<long, string> _helpers;

    private UapiNames(BtfSpec? kernel)
    {
        FromKernelBtf = kernel is not null;
        _programTypes = Read(kernel, "bpf_prog_type", "BPF_PROG_TYPE_") ?? Fallback<BpfProgramType>();
        _mapTypes = Read(kernel, "bpf_map_type", "BPF_MAP_TYPE_") ?? Fallback<BpfMapType>();
        _attachTypes = Read(kernel, "bpf_attach_type", "BPF_") ?? Fallback<BpfAttachType>();
        _linkTypes = Read(kernel, "bpf_link_type", "BPF_LINK_TYPE_") ?? new Dictionary<long, string>();
        _helpers = Read(kernel, "bpf_func_id", "BPF_FUNC_", "bpf_") ?? HelperFallback();
        _programTypes.Remove(0);
        _mapTypes.Remove(0);
        _linkTypes.Remove(0);
        _helpers.Remove(0);
        // Deprecated aliases share a number with the current name; the enum lists the current name first.
    }

    /// <summary>Names from the running kernel's BTF, or the library's tables when it has none.</summary>
    public static UapiNames ForKernel(BtfSpec? kernel) => new(kernel);

    /// <summary>True when the names came from kernel BTF.</summary>
    public bool FromKernelBtf { get; }

    public IReadOnlyDictionary<long, string> ProgramTypes => _programTypes;
    public IReadOnlyDictionary<long, string> MapTypes => _mapTypes;
    public IReadOnlyDictionary<long, string> AttachTypes => _attachTypes;
    public IReadOnlyDictionary<long, string> LinkTypes => _linkTypes;
    public IReadOnlyDictionary<long, string> Helpers => _helpers;

    public string ProgramTypeName(uint type) => _programTypes.TryGetValue(type, out var n) ? n : $"prog_type_{type}";
    public string MapTypeName(uint type) => _mapTypes.TryGetValue(type, out var n) ? n : $"map_type_{type}";
    public string AttachTypeName(uint type) => _attachTypes.TryGetValue(type, out var n) ? n : $"attach_type_{type}";
    public string HelperName(int id) => _helpers.TryGetValue(id, out var n) ? n : $"helper_{id}";

    private static Dictionary<long, string>? Read(BtfSpec? kernel, string enumName, string prefix, string replacement = "")
    {
        if (kernel is null) return null;
        foreach (var id in kernel.FindByName(enumName))
        {
            if (kernel.GetType(id) is not BtfEnum e) continue;
            var names = new Dictionary<long, string>();
            foreach (var v in e.Values)
            {
                // "__MAX_BPF_PROG_TYPE", "__BPF_FUNC_MAX_ID": bounds, not members.
                if (v.Name.StartsWith("__", StringComparison.Ordinal) || !v.Name.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var name = replacement + v.Name[prefix.Length..].ToLowerInvariant();
                // A renamed member keeps its old name as an alias of the same number: prefer the one not marked deprecated.
                if (!names.TryGetValue(v.Value, out var known) || known.EndsWith("_deprecated", StringComparison.Ordinal)) names[v.Value] = name;
            }
            return names;
        }
        return null;
    }

    private static Dictionary<long, string> Fallback<T>() where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(v => Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture), v => Snake(v.ToString()));

    private static Dictionary<long, string> HelperFallback()
    {
        var names = new Dictionary<long, string>();
        for (int id = 1; id < BpfHelperNames.Count; id++)
            if (BpfHelperNames.Get(id) is string n) names[id] = n;
        return names;
    }

    /// <summary>"SocketFilter" to "socket_filter".</summary>
    private static string Snake(string pascal)
    {
        var sb = new System.Text.StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            if (char.IsUpper(pascal[i]) && i > 0) sb.Append('_');
            sb.Append(char.ToLowerInvariant(pascal[i]));
        }
        return sb.ToString();
    }
}
