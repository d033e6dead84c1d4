using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Values;

public static partial class RecordTypes
{
    /// <summary>Builds and keeps the classes of one spec, in one collectible assembly.</summary>
    private sealed class Emitter(BtfSpec spec)
    {
        private const string RecordTypeField = "<RecordType>";
        private static int s_assemblies;

        private readonly Lock _lock = new();
        private readonly Dictionary<(uint Id, string Time), RecordType?> _types = [];
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private ModuleBuilder? _module;

        public RecordType? Get(uint id, string preferredName, string[] time)
        {
            lock (_lock)
            {
                try
                {
                    return Build(id, preferredName, time, 0);
                }
                catch (Exception e) when (e is BpfFormatException or ArgumentException or TypeLoadException or NotSupportedException)
                {
                    // Malformed BTF (the decoder reports it on the first record), or names no class can carry: callers
                    // keep the decoded record.
                    return null;
                }
            }
        }

        private RecordType? Build(uint id, string preferredName, string[] time, int depth)
        {
            var key = (id, string.Join(',', time));
            if (_types.TryGetValue(key, out var known)) return known;
            if (depth > BtfValueCodec.MaxDepth)
                throw new BpfFormatException($"{BtfTypeDisplay.Describe(spec, id)}: records nest more than {BtfValueCodec.MaxDepth} levels (a cycle?)", spec.Source, "BTF type section");
            var layout = CompositeLayout.Get(spec, id);
            var folded = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            if (!layout.Names.All(folded.Add))
            {
                _types[key] = null;
                return null;
            }
            var members = layout.Members;
            var valueTypes = new Type[members.Length];
            var converters = new Func<object?, object?>?[members.Length];
            var timeIndexes = new List<int>();
            for (int i = 0; i < members.Length; i++)
            {
                (valueTypes[i], converters[i]) = MapMember(members[i], preferredName, depth);
                if (valueTypes[i] == typeof(ulong) && time.Contains(members[i].Name, StringComparer.OrdinalIgnoreCase))
                {
                    valueTypes[i] = typeof(DateTime);
                    timeIndexes.Add(i);
                }
            }
            var propertyTypes = Array.ConvertAll(valueTypes, t => t.IsValueType ? typeof(Nullable<>).MakeGenericType(t) : t);
            var isTime = new bool[members.Length];
            foreach (int i in timeIndexes) isTime[i] = true;
            var readers = Readers.For(spec, layout, valueTypes, propertyTypes, converters, isTime);
            var type = Emit(UniqueName(preferredName), layout.Names, propertyTypes, readers is not null);
            var result = new RecordType(type, layout.TypeName, layout.Size, layout.Names,
                converters.Any(c => c is not null) ? converters : null, [.. timeIndexes], readers is not null);
            type.GetField(RecordTypeField, BindingFlags.NonPublic | BindingFlags.Static)!.SetValue(null, result);
            for (int i = 0; readers is not null && i < readers.Length; i++)
                type.GetField(ReaderField(i), BindingFlags.NonPublic | BindingFlags.Static)!.SetValue(null, readers[i]);
            _types[key] = result;
            return result;
        }

        private string UniqueName(string preferred)
        {
            // C names are identifiers already; anything else in a BTF string becomes '_' so the type name parses.
            preferred = string.Concat(preferred.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_'));
            string name = preferred;
            for (int n = 2; !_names.Add(name); n++) name = $"{preferred}_{n}";
            return name;
        }

        // ---- C types → .NET types, as BtfValueCodec decodes them ------------------------------------------------------

        private (Type, Func<object?, object?>?) MapMember(FlatMember member, string ownerName, int depth)
        {
            if (member.IsBitfield || member.BitOffset % 8 != 0)
            {
                return spec.GetType(spec.SkipModsAndTypedefs(member.TypeId)) switch
                {
                    BtfInt integer => (IntType(integer), null),
                    _ => (typeof(object), null),
                };
            }
            return MapValue(member.TypeId, $"{ownerName}_{member.Name}", depth);
        }

        private (Type, Func<object?, object?>?) MapValue(uint typeId, string nameIfAnonymous, int depth)
        {
            if (depth > BtfValueCodec.MaxDepth) return (typeof(object), null);
            uint id = spec.SkipModsAndTypedefs(typeId);
            switch (spec.GetType(id))
            {
                case BtfInt integer:
                    return (IntType(integer), null);
                case BtfFloat number:
                    return (number.ByteSize switch { 2 => typeof(Half), 4 => typeof(float), 8 => typeof(double), _ => typeof(byte[]) }, null);
                case BtfReference { Kind: BtfKind.Pointer }:
                    return (typeof(ulong), null);
                case BtfArray array:
                    return MapArray(array, nameIfAnonymous, depth);
                case BtfComposite composite:
                    var nested = Build(id, composite.Name.Length > 0 ? composite.Name : nameIfAnonymous, [], depth + 1);
                    return nested is null
                        ? (typeof(object), null)
                        : (nested.Type, value => value is BtfRecord record ? nested.Create(record) : value);
                case BtfVar variable:
                    return MapValue(variable.TypeId, nameIfAnonymous, depth + 1);
                default:
                    return (typeof(object), null);   // enums (a name or a number), and whatever decodes loosely
            }
        }

        private (Type, Func<object?, object?>?) MapArray(BtfArray array, string nameIfAnonymous, int depth)
        {
            uint elementId = spec.SkipModsAndTypedefs(array.ElementTypeId);
            if (spec.GetType(elementId) is BtfInt { ByteSize: 1 } small && small.Bits == 8 && small.BitOffset == 0 && !BtfValueCodec.IsBool(small))
            {
                if (BtfValueCodec.IsCharacter(small)) return (typeof(string), null);
                if (!small.IsSigned) return (typeof(byte[]), null);
            }
            var (element, convert) = MapValue(elementId, nameIfAnonymous, depth + 1);
            if (element == typeof(object)) return (typeof(object[]), null);
            var toArray = typeof(Emitter).GetMethod(nameof(ToArray), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(element)
                .CreateDelegate<Func<object?[], Func<object?, object?>?, Array>>();
            return (element.MakeArrayType(), value => value is object?[] items ? toArray(items, convert) : value);
        }

        private static Array ToArray<T>(object?[] items, Func<object?, object?>? convert)
        {
            var result = new T[items.Length];
            for (int i = 0; i < items.Length; i++)
                result[i] = (T)(convert is null ? items[i] : convert(items[i]))!;
            return result;
        }

        private static Type IntType(BtfInt type)
        {
            if (BtfValueCodec.IsBool(type)) return typeof(bool);
            return (type.ByteSize, type.IsSigned) switch
            {
                (1, true) => typeof(sbyte),
                (1, false) => typeof(byte),
                (2, true) => typeof(short),
                (2, false) => typeof(ushort),
                (4, true) => typeof(int),
                (4, false) => typeof(uint),
                (8, true) => typeof(long),
                (8, false) => typeof(ulong),
                (16, true) => typeof(Int128),
                (16, false) => typeof(UInt128),
                _ => typeof(object),   // malformed: the decoder refuses it
            };
        }

        // ---- IL ---------------------------------------------------------------------------------------------------------

        private static string ReaderField(int index) => $"<read{index}>";

        private Type Emit(string name, ImmutableArray<string> names, Type[] propertyTypes, bool withReaders)
        {
            _module ??= AssemblyBuilder.DefineDynamicAssembly(
                    new AssemblyName($"{Namespace}.{Interlocked.Increment(ref s_assemblies)}"), AssemblyBuilderAccess.RunAndCollect)
                .DefineDynamicModule(Namespace);
            var builder = _module.DefineType($"{Namespace}.{name}", TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class,
                typeof(RecordObject));
            var recordType = builder.DefineField(RecordTypeField, typeof(RecordType), FieldAttributes.Private | FieldAttributes.Static);
            var constructor = builder.DefineDefaultConstructor(MethodAttributes.Public);
            var fields = new FieldBuilder[names.Length];
            for (int i = 0; i < names.Length; i++)
            {
                fields[i] = builder.DefineField($"<{names[i]}>", propertyTypes[i], FieldAttributes.Private);
                DefineProperty(builder, names[i], fields[i]);
            }

            const MethodAttributes Override = MethodAttributes.Family | MethodAttributes.Virtual | MethodAttributes.HideBySig;
            var il = builder.DefineMethod(nameof(RecordObject.GetRecordType), Override, typeof(RecordType), Type.EmptyTypes).GetILGenerator();
            il.Emit(OpCodes.Ldsfld, recordType);
            il.Emit(OpCodes.Ret);

            il = builder.DefineMethod(nameof(RecordObject.CreateEmpty), Override, typeof(RecordObject), Type.EmptyTypes).GetILGenerator();
            il.Emit(OpCodes.Newobj, constructor);
            il.Emit(OpCodes.Ret);

            il = builder.DefineMethod(nameof(RecordObject.GetValues), Override, typeof(object[]), Type.EmptyTypes).GetILGenerator();
            il.Emit(OpCodes.Ldc_I4, fields.Length);
            il.Emit(OpCodes.Newarr, typeof(object));
            for (int i = 0; i < fields.Length; i++)
            {
                il.Emit(OpCodes.Dup);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldfld, fields[i]);
                if (fields[i].FieldType.IsValueType) il.Emit(OpCodes.Box, fields[i].FieldType);   // a null Nullable boxes to null
                il.Emit(OpCodes.Stelem_Ref);
            }
            il.Emit(OpCodes.Ret);

            il = builder.DefineMethod(nameof(RecordObject.SetValues), Override, typeof(void), [typeof(object[])]).GetILGenerator();
            for (int i = 0; i < fields.Length; i++)
            {
                il.Emit(OpCodes.Ldarg_0);
                il.Emit(OpCodes.Ldarg_1);
                il.Emit(OpCodes.Ldc_I4, i);
                il.Emit(OpCodes.Ldelem_Ref);
                il.Emit(fields[i].FieldType.IsValueType ? OpCodes.Unbox_Any : OpCodes.Castclass, fields[i].FieldType);
                il.Emit(OpCodes.Stfld, fields[i]);
            }
            il.Emit(OpCodes.Ret);

            if (withReaders)
            {
                // Read(record, toTime): each field from its member's reader, a static delegate of the field's exact type.
                il = builder.DefineMethod(nameof(RecordObject.Read), Override, typeof(void),
                    [typeof(ReadOnlySpan<byte>), typeof(Func<ulong, DateTime>)]).GetILGenerator();
                for (int i = 0; i < fields.Length; i++)
                {
                    var readerType = typeof(MemberReader<>).MakeGenericType(fields[i].FieldType);
                    var reader = builder.DefineField(ReaderField(i), readerType, FieldAttributes.Private | FieldAttributes.Static);
                    il.Emit(OpCodes.Ldarg_0);
                    il.Emit(OpCodes.Ldsfld, reader);
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldarg_2);
                    il.Emit(OpCodes.Callvirt, readerType.GetMethod("Invoke")!);
                    il.Emit(OpCodes.Stfld, fields[i]);
                }
                il.Emit(OpCodes.Ret);
            }
            return builder.CreateType();
        }

        private static void DefineProperty(TypeBuilder builder, string name, FieldBuilder field)
        {
            const MethodAttributes Accessor = MethodAttributes.Public | MethodAttributes.SpecialName | MethodAttributes.HideBySig;
            var property = builder.DefineProperty(name, PropertyAttributes.None, field.FieldType, null);
            var getter = builder.DefineMethod("get_" + name, Accessor, field.FieldType, Type.EmptyTypes);
            var il = getter.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldfld, field);
            il.Emit(OpCodes.Ret);
            var setter = builder.DefineMethod("set_" + name, Accessor, typeof(void), [field.FieldType]);
            il = setter.GetILGenerator();
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldarg_1);
            il.Emit(OpCodes.Stfld, field);
            il.Emit(OpCodes.Ret);
            property.SetGetMethod(getter);
            property.SetSetMethod(setter);
        }
    }
}
