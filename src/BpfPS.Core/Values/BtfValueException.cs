namespace BpfPS.Core.Values;

/// <summary>
/// A value given for a key or value does not fit its BTF type (unknown field, number out of range, string too long,
/// wrong element count, wrong shape). The message starts with the path of the offending part, e.g.
/// "value.comm: string of 20 bytes does not fit char[16]", so the user can find it in a nested hashtable.
/// </summary>
public sealed class BtfValueException : ArgumentException
{
    public BtfValueException(string path, string reason) : base($"{path}: {reason}")
    {
        Path = path;
        Reason = reason;
    }

    /// <summary>Where in the value the problem is ("value", "key.addr[2]", "value.stats.count").</summary>
    public string Path { get; }
    /// <summary>What is wrong, without the path.</summary>
    public string Reason { get; }
}
