using System.Text;

namespace BpfPS.Core.Values;

/// <summary>
/// The base of the classes <see cref="RecordTypes"/> generates for BTF structs and unions: one public read/write
/// property per member, in declaration order. It adds no public properties of its own, so what a shell lists for an
/// instance is the C members and nothing else.
/// </summary>
public abstract class RecordObject
{
    protected RecordObject()
    {
    }

    /// <summary>The description of the generated class (C type, member names).</summary>
    protected internal abstract RecordType GetRecordType();

    /// <summary>The members' current values, in declaration order (value types boxed, missing ones null).</summary>
    protected internal abstract object?[] GetValues();

    /// <summary>Sets every member from <paramref name="values"/> (declaration order, each of its property's type or null).</summary>
    protected internal abstract void SetValues(object?[] values);

    /// <summary>Sets every member from a record's bytes (see <see cref="RecordType.Read"/>); not every class can.</summary>
    protected internal virtual void Read(ReadOnlySpan<byte> record, Func<ulong, DateTime>? toTime) =>
        throw new NotSupportedException($"{GetRecordType().CTypeName} records are converted from their decoded form");

    /// <summary>A new instance of the same generated class, every member null.</summary>
    protected internal abstract RecordObject CreateEmpty();

    /// <summary>"{ pid = 42, comm = bash }", nested records and arrays spelled the same way (as a decoded record).</summary>
    public override string ToString()
    {
        var names = GetRecordType().Names;
        var values = GetValues();
        var text = new StringBuilder("{ ");
        for (int i = 0; i < values.Length; i++)
        {
            if (i > 0) text.Append(", ");
            text.Append(names[i]).Append(" = ");
            ValueEquality.Append(text, values[i]);
        }
        return text.Append(values.Length == 0 ? "}" : " }").ToString();
    }
}
