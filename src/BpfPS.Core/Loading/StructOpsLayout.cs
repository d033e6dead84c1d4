using System.Text;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// A struct_ops map laid out for the running kernel (libbpf's bpf_map__init_kern_struct_ops, read for facts): the
/// kernel's struct and its bpf_struct_ops_&lt;name&gt; value type, the value with the object's data members copied to
/// where the kernel has them, the value offsets that take program fds, and for each program the kernel struct's type id
/// and member index it is loaded with.
/// </summary>
internal sealed class StructOpsLayout
{
    private const string ValueTypePrefix = "bpf_struct_ops_";

    private StructOpsLayout(MapSpec map, uint kernelTypeId, uint valueTypeId, byte[] value, List<(string Program, int Offset)> slots,
        List<(string Program, uint MemberIndex)> programs, string? opsName)
    {
        Map = map;
        KernelTypeId = kernelTypeId;
        ValueTypeId = valueTypeId;
        Value = value;
        ProgramSlots = slots;
        Programs = programs;
        OpsName = opsName;
    }

    public MapSpec Map { get; }
    /// <summary>The struct in kernel BTF (e.g. tcp_congestion_ops): the attach_btf_id of its programs.</summary>
    public uint KernelTypeId { get; }
    /// <summary>bpf_struct_ops_&lt;name&gt; in kernel BTF: the map's btf_vmlinux_value_type_id; its size is the value size.</summary>
    public uint ValueTypeId { get; }
    /// <summary>The map value with data members filled and program slots still zero.</summary>
    public byte[] Value { get; }
    /// <summary>Where each program's fd goes in <see cref="Value"/> (an unsigned long in the kernel's struct).</summary>
    public IReadOnlyList<(string Program, int Offset)> ProgramSlots { get; }
    /// <summary>Programs with the kernel member index they implement (their expected_attach_type).</summary>
    public IReadOnlyList<(string Program, uint MemberIndex)> Programs { get; }
    /// <summary>The struct's "name" member when it is a string (tcp_congestion_ops, sched_ext_ops), else null.</summary>
    public string? OpsName { get; }

    /// <summary>Lays out <paramref name="map"/> for <paramref name="kernel"/>; every refusal names the map and the member.</summary>
    /// <exception cref="BpfLoadException">The kernel lacks the struct, or a member does not match (libbpf's checks).</exception>
    public static StructOpsLayout Build(string path, MapSpec map, BtfSpec objectBtf, BtfSpec kernel)
    {
        var ops = map.StructOps ?? throw new ArgumentException($"map '{map.Name}' is not a struct_ops map", nameof(map));
        string context = $"map '{map.Name}'";
        BpfLoadException Fail(string message) => new(path, context, message);

        uint kernelTypeId = FindStruct(kernel, ops.TypeName)
            ?? throw Fail($"struct {ops.TypeName} is not in the running kernel's BTF: this kernel has no such struct_ops type");
        uint valueTypeId = FindStruct(kernel, ValueTypePrefix + ops.TypeName)
            ?? throw Fail($"struct {ValueTypePrefix}{ops.TypeName} is not in the running kernel's BTF: the kernel cannot register {ops.TypeName} from BPF");
        var kernelType = (BtfComposite)kernel.GetType(kernelTypeId);
        var valueType = (BtfComposite)kernel.GetType(valueTypeId);
        // Loops, not LINQ over BtfMember and StructOpsFunction (JIT-compiled at a session's first struct_ops load).
        BtfMember? dataMember = null;
        for (int m = 0; m < valueType.Members.Length && dataMember is null; m++)
            if (valueType.Members[m].TypeId == kernelTypeId) dataMember = valueType.Members[m];
        if (dataMember is null)
            throw Fail($"struct {ValueTypePrefix}{ops.TypeName} has no member of type struct {ops.TypeName}");
        int dataOffset = (int)(dataMember.Value.BitOffset / 8);

        var type = (BtfComposite)objectBtf.GetType(ops.TypeId);
        var value = new byte[valueType.ByteSize];
        var slots = new List<(string, int)>();
        var programs = new List<(string, uint)>();
        var programOf = new Dictionary<int, string>(ops.FunctionArray.Length);
        foreach (var f in ops.FunctionArray) programOf.Add(f.MemberIndex, f.ProgramName);
        string? opsName = null;

        for (int i = 0; i < type.Members.Length; i++)
        {
            var member = type.Members[i];
            uint objectOffset = member.BitOffset / 8;
            uint objectMemberType = objectBtf.SkipModsAndTypedefs(member.TypeId);
            int kernelIndex = IndexOf(kernelType, member.Name);
            uint size = objectBtf.GetKind(objectMemberType) == BtfKind.Pointer ? BtfSpec.PointerSize : SizeOf(objectBtf, member.TypeId);
            var data = objectOffset + size <= (uint)ops.Data.Length ? ops.Data.AsSpan((int)objectOffset, (int)size) : default;
            if (kernelIndex < 0)
            {
                // libbpf 1.4+: a member the kernel lacks is skipped when the object leaves it unset (libbpf 1.1 refuses).
                if (!programOf.ContainsKey(i) && !data.ContainsAnyExcept((byte)0)) continue;
                throw Fail($"member '{member.Name}' of struct {ops.TypeName} is set, but the running kernel's struct has no such member");
            }
            var kernelMember = kernelType.Members[kernelIndex];
            if (member.BitfieldSize != 0 || kernelMember.BitfieldSize != 0)
                throw Fail($"member '{member.Name}' is a bitfield, which struct_ops values cannot hold");
            uint kernelMemberType = kernel.SkipModsAndTypedefs(kernelMember.TypeId);
            var kind = objectBtf.GetKind(objectMemberType);
            var kernelKind = kernel.GetKind(kernelMemberType);
            if (kind != kernelKind)
                throw Fail($"member '{member.Name}' is a {kind} in the object but a {kernelKind} in the kernel's struct {ops.TypeName}");
            int kernelOffset = dataOffset + (int)(kernelMember.BitOffset / 8);

            if (kind == BtfKind.Pointer)
            {
                if (!programOf.TryGetValue(i, out var program)) continue; // pointers without a program stay NULL, as in libbpf
                var pointee = kernel.SkipModsAndTypedefs(((BtfReference)kernel.GetType(kernelMemberType)).TypeId);
                if (kernel.GetKind(pointee) != BtfKind.FuncProto)
                    throw Fail($"member '{member.Name}' is set to program '{program}', but the kernel's member is not a function pointer");
                slots.Add((program, kernelOffset));
                programs.Add((program, (uint)kernelIndex));
                continue;
            }

            uint kernelSize = SizeOf(kernel, kernelMember.TypeId);
            if (size != kernelSize)
                throw Fail($"member '{member.Name}' is {size} bytes in the object but {kernelSize} in the kernel's struct {ops.TypeName}");
            if (data.Length != (int)size)
                throw Fail($"member '{member.Name}' lies beyond the object's data for the struct");
            data.CopyTo(value.AsSpan(kernelOffset));
            if (member.Name == "name" && kind == BtfKind.Array)
            {
                int end = data.IndexOf((byte)0);
                opsName = Encoding.UTF8.GetString(end < 0 ? data : data[..end]);
            }
        }
        return new StructOpsLayout(map, kernelTypeId, valueTypeId, value, slots, programs, opsName);
    }

    /// <summary>The first struct of that name (libbpf's btf__find_by_name_kind).</summary>
    private static uint? FindStruct(BtfSpec btf, string name)
    {
        uint? best = null;
        foreach (uint id in btf.FindByName(name))
        {
            if (btf.GetKind(id) == BtfKind.Struct && (best is null || id < best)) best = id;
        }
        return best;
    }

    private static int IndexOf(BtfComposite type, string name)
    {
        for (int i = 0; i < type.Members.Length; i++)
        {
            if (type.Members[i].Name == name) return i;
        }
        return -1;
    }

    private static uint SizeOf(BtfSpec btf, uint typeId)
    {
        try
        {
            return btf.SizeOf(typeId);
        }
        catch (BpfFormatException)
        {
            return 0; // sizeless (a function, a forward declaration): reported as a size mismatch
        }
    }
}
