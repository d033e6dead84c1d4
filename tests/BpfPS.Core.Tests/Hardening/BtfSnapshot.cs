using System.Security.Cryptography;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Hardening;

/// <summary>
/// A record of a shared spec's state to compare before and after concurrent use: a hash of its raw bytes, and for a set
/// of type ids the decoded instance (identity: memoised types must never be replaced) and its full contents as text.
/// </summary>
internal sealed class BtfSnapshot
{
    private readonly BtfSpec _spec;
    private readonly string _rawHash;
    private readonly Dictionary<uint, (BtfType Instance, string Contents)> _types = new();

    public BtfSnapshot(BtfSpec spec, IEnumerable<uint> ids)
    {
        _spec = spec;
        _rawHash = Convert.ToHexString(SHA256.HashData(spec.RawBytes.Span));
        foreach (uint id in ids)
        {
            var type = spec.GetType(id);
            _types[id] = (type, Describe(type));
        }
    }

    public int Count => _types.Count;

    /// <summary>The differences from now (empty when nothing changed).</summary>
    public List<string> Differences()
    {
        var differences = new List<string>();
        if (Convert.ToHexString(SHA256.HashData(_spec.RawBytes.Span)) != _rawHash)
            differences.Add("raw BTF bytes changed");
        foreach (var (id, (instance, contents)) in _types)
        {
            var now = _spec.GetType(id);
            if (!ReferenceEquals(now, instance)) differences.Add($"type [{id}] is a different instance");
            string text = Describe(now);
            if (text != contents) differences.Add($"type [{id}] was {contents}, now {text}");
        }
        return differences;
    }

    /// <summary>Every field of a decoded type, from the model's public surface.</summary>
    public static string Describe(BtfType type)
    {
        var sb = new StringBuilder();
        sb.Append(type.Kind).Append(' ').Append(type.Id).Append(" '").Append(type.Name).Append("' size=").Append(type.Size);
        switch (type)
        {
            case BtfComposite c:
                foreach (var m in c.Members) sb.Append(" | ").Append(m.Name).Append(':').Append(m.TypeId).Append('@').Append(m.BitOffset).Append('/').Append(m.BitfieldSize);
                break;
            case BtfEnum e:
                foreach (var v in e.Values) sb.Append(" | ").Append(v.Name).Append('=').Append(v.Value);
                break;
            case BtfFuncProto f:
                sb.Append(" ret ").Append(f.ReturnTypeId);
                foreach (var p in f.Parameters) sb.Append(" | ").Append(p.Name).Append(':').Append(p.TypeId);
                break;
            case BtfArray a:
                sb.Append(" of ").Append(a.ElementTypeId).Append(" x").Append(a.Count).Append(" index ").Append(a.IndexTypeId);
                break;
            case BtfReference r:
                sb.Append(" -> ").Append(r.TypeId);
                break;
            case BtfDatasec d:
                foreach (var v in d.Variables) sb.Append(" | ").Append(v.TypeId).Append('@').Append(v.Offset).Append('+').Append(v.Size);
                break;
        }
        return sb.ToString();
    }
}
