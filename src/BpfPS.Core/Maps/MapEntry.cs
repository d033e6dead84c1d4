namespace BpfPS.Core.Maps;

/// <summary>
/// One key and its value, decoded: with BTF, plain .NET values and <see cref="Values.BtfRecord"/>s; without, byte[].
/// For per-CPU maps <see cref="Value"/> is an object?[] with one value per possible CPU.
/// </summary>
public sealed record MapEntry(object? Key, object? Value)
{
    public override string ToString() => $"{Show(Key)} => {Show(Value)}";

    private static string Show(object? value)
    {
        var text = new System.Text.StringBuilder();
        Values.ValueEquality.Append(text, value);
        return text.ToString();
    }
}
