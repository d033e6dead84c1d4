using System.Runtime.ExceptionServices;
using System.Text;

namespace BpfPS.Core.Btf;

/// <summary>
/// Writes a spec's types as one compilable C header, the role of
/// <c>bpftool btf dump file /sys/kernel/btf/vmlinux format c</c> (the usual vmlinux.h of CO-RE programs).
/// </summary>
/// <remarks>
/// <para>Order: every type is written after what it needs. A struct, union or typedef used by value needs the complete
/// definitions of what it embeds; behind a pointer (or in a prototype) a forward declaration is enough, which is how
/// self-referencing and mutually referencing structs come out. Anonymous structs, unions and enums are written inline
/// where they are used; an anonymous enum nobody uses is written on its own (its enumerators are constants).</para>
/// <para>As bpftool does: records get preserve_access_index through a clang pragma (unless BPF_NO_PRESERVE_ACCESS_INDEX
/// is defined), a name that clashes with an earlier one of the same namespace gets a "___2", "___3"... suffix
/// (struct/union/enum tags share one namespace, typedefs and enumerators another), funcs, vars, datasecs and decl tags
/// are not written, and __builtin_va_list is left to the compiler.</para>
/// <para>Types of a split spec's base are written too when the split spec's types need them.</para>
/// </remarks>
public static class BtfCHeaderWriter
{
    /// <summary>Writes the header with the include guard __VMLINUX_H__.</summary>
    public static void Write(BtfSpec spec, TextWriter writer) => Write(spec, writer, "__VMLINUX_H__");

    /// <summary>Writes the header with the given include guard.</summary>
    /// <exception cref="BpfFormatException">A type the header needs is malformed.</exception>
    public static void Write(BtfSpec spec, TextWriter writer, string includeGuard)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentException.ThrowIfNullOrEmpty(includeGuard);
        // Ordering recurses along chains of embedded types; give it a deep stack rather than trust the caller's.
        ExceptionDispatchInfo? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                new HeaderEmitter(spec, writer).Run(includeGuard);
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }, 64 * 1024 * 1024) { Name = "BTF C header" };
        thread.Start();
        thread.Join();
        failure?.Throw();
    }

    private sealed class HeaderEmitter(BtfSpec spec, TextWriter writer) : CTypeFormatter(spec, wholeSpec: true)
    {
        private enum State : byte { None, Defining, Defined }

        private readonly State[] _state = new State[spec.NextTypeId];
        private readonly bool[] _typedefWritten = new bool[spec.NextTypeId];
        private readonly bool[] _forwardWritten = new bool[spec.NextTypeId];
        private readonly string?[] _names = new string?[spec.NextTypeId];
        private readonly Dictionary<string, int> _tagNames = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _identNames = new(StringComparer.Ordinal);
        private readonly StringBuilder _sb = new();

        public void Run(string guard)
        {
            writer.Write($"#ifndef {guard}\n#define {guard}\n\n");
            writer.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n");
            writer.Write("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n");
            writer.Write("#endif\n\n");

            var referenced = ReferencedAnonymousEnums();
            for (uint id = Spec.FirstTypeId; id < Spec.NextTypeId; id++)
            {
                var t = Type(id);
                switch (t)
                {
                    case BtfComposite { Name.Length: > 0 }:
                    case BtfReference { Kind: BtfKind.Typedef }:
                    case BtfEnum { Name.Length: > 0 }:
                        Define(id);
                        break;
                    case BtfEnum e when !referenced.Contains(id):
                        _sb.Clear();
                        AppendEnum(_sb, e, 0);
                        Emit(_sb.Append(';'));
                        break;
                    case BtfFwd:
                        Declare(id);
                        break;
                }
            }

            writer.Write("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n");
            writer.Write($"#endif /* {guard} */\n");
        }

        private void Emit(StringBuilder text)
        {
            writer.Write(text);
            writer.Write("\n\n");
        }

        /// <summary>Anonymous enums some written type uses (they are written inline there, not on their own).</summary>
        private HashSet<uint> ReferencedAnonymousEnums()
        {
            var used = new HashSet<uint>();
            void Use(uint id)
            {
                if (id != 0 && Type(id) is BtfEnum { Name.Length: 0 })
                    used.Add(id);
            }
            for (uint id = Spec.FirstTypeId; id < Spec.NextTypeId; id++)
                switch (Type(id))
                {
                    case BtfComposite c:
                        foreach (var m in c.Members) Use(m.TypeId);
                        break;
                    case BtfReference r:
                        Use(r.TypeId);
                        break;
                    case BtfArray a:
                        Use(a.ElementTypeId);
                        break;
                    case BtfFuncProto f:
                        Use(f.ReturnTypeId);
                        foreach (var p in f.Parameters) Use(p.TypeId);
                        break;
                }
            return used;
        }

        // ---- ordering -----------------------------------------------------------------------------------------------

        /// <summary>Ordering recursion deeper than this is a reference cycle (pointers, modifiers, prototypes): malformed BTF.</summary>
        private const int MaxOrderingDepth = 4096;
        private int _orderingDepth;

        /// <summary>Makes the complete type usable (it is about to be embedded by value).</summary>
        private void Define(uint id)
        {
            Enter(id);
            try { DefineUnchecked(id); }
            finally { _orderingDepth--; }
        }

        /// <summary>Makes the type usable behind a pointer or in a prototype.</summary>
        private void Declare(uint id)
        {
            Enter(id);
            try { DeclareUnchecked(id); }
            finally { _orderingDepth--; }
        }

        private void Enter(uint id)
        {
            if (++_orderingDepth > MaxOrderingDepth)
                throw new BpfFormatException($"type [{id}]: types refer to each other deeper than {MaxOrderingDepth} (a cycle?)", Spec.Source, BtfWire.TypePart);
        }

        private void DefineUnchecked(uint id)
        {
            if (id == 0)
                return;
            var t = Type(id);
            switch (t)
            {
                case BtfReference { Kind: BtfKind.Pointer } p:
                    Declare(p.TypeId);
                    break;
                case BtfReference { Kind: BtfKind.Typedef } td:
                    if (IsCompilerBuiltin(td) || _state[id] is State.Defining or State.Defined)
                        return;
                    _state[id] = State.Defining;
                    Define(td.TypeId);
                    WriteTypedef(td);
                    _state[id] = State.Defined;
                    break;
                case BtfReference r:
                    Define(r.TypeId);
                    break;
                case BtfArray a:
                    Define(a.ElementTypeId);
                    break;
                case BtfComposite c:
                    if (_state[id] is State.Defining or State.Defined)
                        return;   // Defining: embedded in itself, impossible in C; leave it to the compiler to say so
                    _state[id] = State.Defining;
                    foreach (var m in c.Members)
                        Define(m.TypeId);
                    if (c.Name.Length != 0)
                    {
                        _sb.Clear();
                        AppendComposite(_sb, c, 0);
                        Emit(_sb.Append(';'));
                    }
                    _state[id] = State.Defined;
                    break;
                case BtfEnum e when e.Name.Length != 0 && _state[id] != State.Defined:
                    _state[id] = State.Defined;
                    _sb.Clear();
                    AppendEnum(_sb, e, 0);
                    Emit(_sb.Append(';'));
                    break;
                case BtfFuncProto f:
                    Declare(f.ReturnTypeId);
                    foreach (var p in f.Parameters)
                        Declare(p.TypeId);
                    break;
                case BtfFwd:
                    Declare(id);
                    break;
            }
        }

        /// <summary>Makes the type usable where an incomplete type will do (behind a pointer, in a prototype).</summary>
        private void DeclareUnchecked(uint id)
        {
            if (id == 0)
                return;
            var t = Type(id);
            switch (t)
            {
                case BtfComposite { Name.Length: > 0 } c:
                    // Also while its definition is pending (Defining): a prototype met meanwhile needs the tag declared.
                    if (_state[id] != State.Defined && !_forwardWritten[id])
                    {
                        _forwardWritten[id] = true;
                        Emit(_sb.Clear().Append(c.IsUnion ? "union " : "struct ").Append(TagName(c)).Append(';'));
                    }
                    break;
                case BtfFwd f:
                    if (!_forwardWritten[id])
                    {
                        _forwardWritten[id] = true;
                        Emit(_sb.Clear().Append(f.IsUnion ? "union " : "struct ").Append(f.Name).Append(';'));
                    }
                    break;
                case BtfReference { Kind: BtfKind.Typedef } td:
                    if (IsCompilerBuiltin(td) || _typedefWritten[id])
                        return;
                    Declare(td.TypeId);
                    WriteTypedef(td);
                    break;
                case BtfReference r:
                    Declare(r.TypeId);
                    break;
                case BtfFuncProto f:
                    Declare(f.ReturnTypeId);
                    foreach (var p in f.Parameters)
                        Declare(p.TypeId);
                    break;
                default:
                    // Anonymous structs and unions (written inline), enums, arrays: only complete will do.
                    Define(id);
                    break;
            }
        }

        private void WriteTypedef(BtfReference td)
        {
            if (_typedefWritten[td.Id])
                return;
            _typedefWritten[td.Id] = true;
            _sb.Clear();
            string name = TypedefName(td);
            // Old GCC describes __gnuc_va_list as a typedef of void; it is the compiler's __builtin_va_list.
            if (td.TypeId == 0 && td.Name == "__gnuc_va_list")
                _sb.Append("typedef __builtin_va_list __gnuc_va_list;");
            else
            {
                // The declarator may write anonymous types inline: build it before appending, it uses _sb too.
                string declaration = Declaration(td.TypeId, name, 0);
                _sb.Clear().Append("typedef ").Append(declaration).Append(';');
            }
            Emit(_sb);
        }

        private static bool IsCompilerBuiltin(BtfType t) => t.Name == "__builtin_va_list";

        // ---- names ----------------------------------------------------------------------------------------------------

        protected override string TagName(BtfType type) => Resolve(type, _tagNames);
        protected override string TypedefName(BtfType type) => Resolve(type, _identNames);

        /// <summary>An enumerator's name, suffixed when it repeats one already written (enumerators are not renamed per type, they are counted per occurrence).</summary>
        protected override string EnumeratorName(string name) => Count(_identNames, name) is var n and > 1 ? $"{name}___{n}" : name;

        /// <summary>The name a type is written under: its own, or with "___N" if it is the Nth of that name.</summary>
        private string Resolve(BtfType type, Dictionary<string, int> names)
        {
            if (type.Name.Length == 0 || type is BtfFwd || type is BtfEnum { Values.Length: 0 })
                return type.Name;
            uint id = type.Id;
            if (_names[id] is { } resolved)
                return resolved;
            int n = Count(names, type.Name);
            return _names[id] = n > 1 ? $"{type.Name}___{n}" : type.Name;
        }

        private static int Count(Dictionary<string, int> names, string name)
        {
            names.TryGetValue(name, out int n);
            names[name] = ++n;
            return n;
        }
    }
}
