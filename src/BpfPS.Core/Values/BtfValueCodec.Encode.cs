using System.Buffers.Binary;
using System.Collections;
using System.Numerics;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

// .NET values -> bytes. The destination of every call is the value's own bytes, already zeroed.
public sealed partial class BtfValueCodec
{
    /// <summary>How many member names an "unknown member" message lists before "...".</summary>
    private const int NamesInMessages = 12;

    private void EncodeValue(uint typeId, object? value, Span<byte> destination, string path, int depth, ValueAdapter? adapter)
    {
        if (depth > MaxDepth) throw TooDeep();
        if (value is not null && adapter is not null) value = adapter(value);
        if (value is null)
            return;   // null leaves zeroes, like a member left out of a C initializer
        uint id = Spec.SkipModsAndTypedefs(typeId);
        if (value is byte[] raw)
        {
            if (raw.Length != destination.Length)
                throw new BtfValueException(path, $"{raw.Length} bytes given, {Describe(typeId)} is {destination.Length} bytes");
            raw.CopyTo(destination);
            return;
        }
        switch (Spec.GetType(id))
        {
            case BtfInt integer:
            {
                int size = CheckedIntSize(integer);
                bool whole = integer.BitOffset == 0 && integer.Bits == size * 8;
                int bits = whole ? size * 8 : CheckedIntBits(integer);
                BitFields.Write(destination, whole ? 0 : integer.BitOffset, bits, IntegerBits(integer, bits, value, path, typeId));
                return;
            }
            case BtfFloat number:
                EncodeFloat(number, value, destination, path, typeId);
                return;
            case BtfReference { Kind: BtfKind.Pointer }:
                BinaryPrimitives.WriteUInt64LittleEndian(destination, (ulong)CheckedInteger(value, 64, false, path, Describe(typeId)));
                return;
            case BtfEnum enumeration:
            {
                int bits = CheckedEnumSize(enumeration) * 8;
                BitFields.Write(destination, 0, bits, EnumBits(enumeration, bits, value, path));
                return;
            }
            case BtfArray array:
                EncodeArray(array, value, destination, path, depth, adapter);
                return;
            case BtfComposite or BtfDatasec:
                EncodeRecord(id, value, destination, path, depth, adapter);
                return;
            case BtfVar variable:
                EncodeValue(variable.TypeId, value, destination, path, depth + 1, adapter);
                return;
            case var other:
                throw new BtfValueException(path, $"{Describe(other.Id)} ({other.Kind}) cannot hold a value");
        }
    }

    private UInt128 IntegerBits(BtfInt type, int bits, object value, string path, uint declaredId)
    {
        if (IsBool(type))
        {
            if (value is bool flag) return flag ? UInt128.One : UInt128.Zero;
            if (ValueConversion.TryGetInteger(value, out var number) && (number == 0 || number == 1))
                return number == 1 ? UInt128.One : UInt128.Zero;
            throw new BtfValueException(path, $"{Describe(declaredId)} takes $true/$false (or 0/1), got {Show(value)}");
        }
        if (value is bool b)
            return b ? UInt128.One : UInt128.Zero;
        string what = bits == type.ByteSize * 8 ? Describe(declaredId) : $"{bits}-bit bitfield of {Describe(declaredId)}";
        return ValueConversion.ToBits(CheckedInteger(value, bits, type.IsSigned, path, what), bits);
    }

    private static BigInteger CheckedInteger(object value, int bits, bool signed, string path, string typeName)
    {
        if (!ValueConversion.TryGetInteger(value, out var number))
            throw new BtfValueException(path, $"{typeName} takes an integer, got {Show(value)}");
        var (min, max) = ValueConversion.Range(bits, signed);
        if (number < min || number > max)
            throw new BtfValueException(path, $"{number} is out of range for {typeName} ({min}..{max})");
        return number;
    }

    private UInt128 EnumBits(BtfEnum type, int bits, object value, string path)
    {
        string typeName = bits == type.ByteSize * 8 ? Describe(type.Id) : $"{bits}-bit bitfield of {Describe(type.Id)}";
        if (value is string name && !ValueConversion.TryParseInteger(name, out _))
            return (UInt128)(ulong)FindEnumerator(type, name, path, typeName).Value & BitFields.Mask(bits);
        if (!ValueConversion.TryGetInteger(value, out var number))
            throw new BtfValueException(path, $"{typeName} takes an enumerator name or a number, got {Show(value)}");
        // BTF from older compilers does not mark signed enums, so take the number in either reading of its width.
        var (min, _) = ValueConversion.Range(bits, signed: true);
        var (_, max) = ValueConversion.Range(bits, signed: false);
        if (number < min || number > max)
            throw new BtfValueException(path, $"{number} is out of range for {typeName} ({min}..{max})");
        return ValueConversion.ToBits(number, bits);
    }

    private static BtfEnumValue FindEnumerator(BtfEnum type, string name, string path, string typeName)
    {
        foreach (var enumerator in type.Values)
            if (enumerator.Name == name) return enumerator;
        BtfEnumValue? match = null;
        foreach (var enumerator in type.Values)
        {
            if (!string.Equals(enumerator.Name, name, StringComparison.OrdinalIgnoreCase)) continue;
            if (match is not null)
                throw new BtfValueException(path, $"'{name}' matches more than one enumerator of {typeName} when case is ignored");
            match = enumerator;
        }
        return match ?? throw new BtfValueException(path,
            $"{typeName} has no enumerator '{name}'; it has {ListNames(type.Values.Select(v => v.Name))}");
    }

    private void EncodeFloat(BtfFloat type, object value, Span<byte> destination, string path, uint declaredId)
    {
        if (!ValueConversion.TryGetDouble(value, out double number))
            throw new BtfValueException(path, $"{Describe(declaredId)} takes a number, got {Show(value)}");
        switch (type.ByteSize)
        {
            case 2:
                if (double.IsFinite(number) && Math.Abs(number) > (double)Half.MaxValue)
                    throw new BtfValueException(path, $"{number} is out of range for {Describe(declaredId)} (16-bit float)");
                BinaryPrimitives.WriteHalfLittleEndian(destination, (Half)number);
                return;
            case 4:
                if (double.IsFinite(number) && Math.Abs(number) > float.MaxValue)
                    throw new BtfValueException(path, $"{number} is out of range for {Describe(declaredId)} (32-bit float)");
                BinaryPrimitives.WriteSingleLittleEndian(destination, (float)number);
                return;
            case 8:
                BinaryPrimitives.WriteDoubleLittleEndian(destination, number);
                return;
            default:
                throw new BtfValueException(path, $"{Describe(declaredId)} is a {type.ByteSize}-byte float with no .NET equivalent; pass a byte[] of {type.ByteSize} bytes");
        }
    }

    private void EncodeArray(BtfArray array, object value, Span<byte> destination, string path, int depth, ValueAdapter? adapter)
    {
        uint elementId = Spec.SkipModsAndTypedefs(array.ElementTypeId);
        int elementSize = (int)Spec.SizeOf(elementId);
        string typeName = Describe(array.Id);
        if (value is string text)
        {
            if (Spec.GetType(elementId) is not BtfInt character || !IsCharacter(character))
                throw new BtfValueException(path, $"{typeName} takes {array.Count} elements, got a string");
            int length = Encoding.UTF8.GetByteCount(text);
            if (length > array.Count)
                throw new BtfValueException(path, $"string of {length} bytes does not fit {typeName}");
            Encoding.UTF8.GetBytes(text, destination);
            return;
        }
        if (!ValueConversion.IsSequence(value))
            throw new BtfValueException(path, $"{typeName} takes {array.Count} elements, got {Show(value)}");
        int index = 0;
        foreach (var item in (IEnumerable)value)
        {
            // Stop at one too many: the input may be long (or endless) and need not be read to the end to be refused.
            if (index == array.Count)
                throw new BtfValueException(path, $"more than {array.Count} elements given, {typeName} takes exactly {array.Count}");
            EncodeValue(elementId, item, destination.Slice(index * elementSize, elementSize), $"{path}[{index}]", depth + 1, adapter);
            index++;
        }
        if (index != array.Count)
            throw new BtfValueException(path, $"{index} elements given, {typeName} takes exactly {array.Count}");
    }

    private void EncodeRecord(uint id, object value, Span<byte> destination, string path, int depth, ValueAdapter? adapter)
    {
        var layout = CompositeLayout.Get(Spec, id);
        foreach (var (key, memberValue) in Members(value, layout, path))
        {
            int index = layout.IndexOfIgnoreCase(key);
            string memberPath = $"{path}.{key}";
            if (index < 0)
                throw new BtfValueException(memberPath, $"{layout.TypeName} has no member '{key}'; it has {ListNames(layout.Names)}");
            var member = layout.Members[index];
            memberPath = $"{path}.{member.Name}";
            if (member.IsBitfield || member.BitOffset % 8 != 0)
            {
                EncodeBitfield(member, memberValue, destination, memberPath, adapter);
                continue;
            }
            ulong offset = member.BitOffset / 8, size = Spec.SizeOf(member.TypeId);
            if (offset + size > (ulong)destination.Length)
                throw Malformed($"{TypeName}: member '{member.Name}' ({size} bytes at offset {offset}) lies outside the {destination.Length}-byte value");
            var slice = destination.Slice((int)offset, (int)size);
            slice.Clear();   // in a union a later member replaces an earlier one's bytes
            EncodeValue(member.TypeId, memberValue, slice, memberPath, depth + 1, adapter);
        }
    }

    private void EncodeBitfield(FlatMember member, object? value, Span<byte> destination, string path, ValueAdapter? adapter)
    {
        if (value is not null && adapter is not null) value = adapter(value);
        var (type, offset, bits) = ResolveBitfield(member, destination.Length);
        UInt128 raw = value is null ? UInt128.Zero : type switch
        {
            BtfInt integer => IntegerBits(integer, bits, value, path, member.TypeId),
            BtfEnum enumeration => EnumBits(enumeration, bits, value, path),
            _ => throw new InvalidOperationException("unreachable: ResolveBitfield returns ints and enums"),
        };
        BitFields.Write(destination, offset, bits, raw);
    }

    /// <summary>The name/value pairs of a dictionary-like input (hashtable, dictionary, decoded record).</summary>
    private static IEnumerable<(string Key, object? Value)> Members(object value, CompositeLayout layout, string path)
    {
        switch (value)
        {
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                    yield return (Convert.ToString(entry.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "", entry.Value);
                break;
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                foreach (var pair in pairs)
                    yield return (pair.Key, pair.Value);
                break;
            default:
                throw new BtfValueException(path, $"{layout.TypeName} takes a hashtable of its members ({ListNames(layout.Names)}), got {Show(value)}");
        }
    }

    private static string ListNames(IEnumerable<string> names)
    {
        var list = names.Take(NamesInMessages + 1).ToList();
        if (list.Count == 0) return "none";
        return list.Count > NamesInMessages ? string.Join(", ", list.Take(NamesInMessages)) + ", ..." : string.Join(", ", list);
    }

    private static string Show(object value) => value switch
    {
        string s => $"\"{s}\"",
        IDictionary => "a hashtable",
        _ when ValueConversion.IsSequence(value) => $"a list ({value.GetType().Name})",
        _ => $"{value} ({value.GetType().Name})",
    };
}
