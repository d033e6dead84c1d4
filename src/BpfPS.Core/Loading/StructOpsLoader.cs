using System.Buffers.Binary;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// The struct_ops part of one collection load: lays out every struct_ops map against the running kernel before anything
/// is created (the kernel checks these type ids against its own BTF, so a custom CO-RE target BTF plays no part), gives
/// the loader each struct_ops program's attach_btf_id and member index, creates the maps, and registers them once the
/// programs are loaded. What it registered is unregistered again if the load fails afterwards.
/// </summary>
internal sealed class StructOpsLoader
{
    private readonly string _path;
    private readonly Dictionary<string, StructOpsLayout> _layouts = new(StringComparer.Ordinal);
    // Made by the first struct_ops map: a Dictionary over a ValueTuple is JIT-compiled on first use (ReadyToRun cannot
    // precompile it here), which objects without struct_ops then never pay.
    private Dictionary<string, (uint TypeId, uint MemberIndex)>? _attach;
    private readonly List<StructOpsRegistration> _registered = [];

    private StructOpsLoader(string path) => _path = path;

    /// <summary>True when the object has struct_ops maps.</summary>
    public bool IsEmpty => _layouts.Count == 0;

    /// <summary>Lays out the spec's struct_ops maps against <paramref name="kernel"/> (null: the running kernel's BTF, read only when needed).</summary>
    /// <exception cref="BpfLoadException">A struct_ops map does not fit the kernel, or a struct_ops program belongs to no map.</exception>
    public static StructOpsLoader Prepare(CollectionSpec spec, BtfSpec? kernel = null)
    {
        var loader = new StructOpsLoader(spec.Path);
        foreach (var map in spec.Maps.Values)
        {
            if (map.StructOps is null) continue;
            var objectBtf = spec.Btf ?? throw new BpfLoadException(spec.Path, $"map '{map.Name}'", "struct_ops maps need the object's BTF");
            kernel ??= KernelBtf.GetVmlinux();
            foreach (var f in map.StructOps.FunctionArray)
            {
                if (!spec.Programs.ContainsKey(f.ProgramName))
                    throw new BpfLoadException(spec.Path, $"map '{map.Name}'", $"member '{f.MemberName}' points at program '{f.ProgramName}', which is not in the collection");
            }
            var layout = StructOpsLayout.Build(spec.Path, map, objectBtf, kernel);
            loader._layouts[map.Name] = layout;
            foreach (var (program, member) in layout.Programs)
                (loader._attach ??= new(StringComparer.Ordinal))[program] = (layout.KernelTypeId, member);
        }
        foreach (var program in spec.Programs.Values)
        {
            if (program.Type == BpfProgramType.StructOps && loader._attach?.ContainsKey(program.Name) != true)
                throw new BpfLoadException(spec.Path, $"program '{program.Name}'",
                    "no struct_ops map points at this struct_ops program, so the kernel member it implements is unknown");
        }
        return loader;
    }

    /// <summary>attach_btf_id (the kernel struct) and expected_attach_type (the member index) for a struct_ops program.</summary>
    public bool TryGetAttach(string program, out uint attachBtfId, out BpfAttachType expectedAttachType)
    {
        if (_attach is null || !_attach.TryGetValue(program, out var a))
        {
            attachBtfId = 0;
            expectedAttachType = default;
            return false;
        }
        attachBtfId = a.TypeId;
        expectedAttachType = (BpfAttachType)a.MemberIndex;
        return true;
    }

    /// <summary>
    /// BPF_MAP_CREATE of a struct_ops map: btf_vmlinux_value_type_id and value size from bpf_struct_ops_&lt;name&gt;, the
    /// object's BTF fd (the kernel requires one), BPF_F_LINK for ".struct_ops.link".
    /// </summary>
    public (BpfFd Fd, BpfMapInfo Info) CreateMap(MapSpec spec, string kernelName, BpfFd? btf, Func<BpfFd, BpfFd> track)
    {
        var layout = _layouts[spec.Name];
        if (btf is null)
            throw new BpfLoadException(_path, $"map '{spec.Name}'", "a struct_ops map needs the object's BTF loaded in the kernel");
        try
        {
            var fd = track(BpfSyscall.MapCreate(BpfMapType.StructOps, 4, (uint)layout.Value.Length, 1, spec.Flags, kernelName,
                btf: btf, btfVmlinuxValueTypeId: layout.ValueTypeId));
            return (fd, BpfSyscall.GetMapInfo(fd));
        }
        catch (BpfSyscallException e)
        {
            throw new BpfLoadException(_path, $"map '{spec.Name}'",
                $"cannot create the struct_ops map for {spec.StructOps!.TypeName}: {e.Message}", e.ErrorNumber, null, e);
        }
    }

    /// <summary>
    /// Registers every struct_ops map, in object order: the value with each program's fd at its member, written to key 0;
    /// for a BPF_F_LINK map that only stages the value, and a link then registers it.
    /// </summary>
    public IReadOnlyList<StructOpsRegistration> Register(IReadOnlyDictionary<string, LoadedMap> maps, IReadOnlyDictionary<string, LoadedProgram> programs,
        Func<LoadedMap, string, (IDisposable Link, uint Id)>? createLink)
    {
        foreach (var (name, layout) in _layouts)
        {
            var map = maps[name];
            var ops = layout.Map.StructOps!;
            var value = (byte[])layout.Value.Clone();
            string what = $"{ops.TypeName} '{layout.OpsName ?? name}'";
            try
            {
                foreach (var (program, offset) in layout.ProgramSlots)
                {
                    // A program left unloaded (autoload off) cannot fill its member: the kernel would reject the value or run NULL.
                    if (!programs.TryGetValue(program, out var loaded))
                        throw new BpfLoadException(_path, $"map '{name}'", $"cannot register {what}: its program '{program}' was not loaded");
                    BinaryPrimitives.WriteUInt64LittleEndian(value.AsSpan(offset), (ulong)loaded.Fd.Value);
                }
                BpfSyscall.MapUpdate(map.Fd, stackalloc byte[4], value);
            }
            catch (BpfSyscallException e)
            {
                throw new BpfLoadException(_path, $"map '{name}'", $"the kernel refused to register {what}: {e.Message}{Hint(e.ErrorNumber, layout)}", e.ErrorNumber, null, e);
            }

            if (!ops.UsesLink)
            {
                _registered.Add(new StructOpsRegistration(map, ops.TypeName, layout.OpsName, StructOpsRegistrationKind.MapUpdate, null, 0));
                continue;
            }
            if (createLink is null)
                throw new BpfLoadException(_path, $"map '{name}'", $"cannot register {what} through a BPF link: links are not available");
            (IDisposable Link, uint Id) link;
            try
            {
                link = createLink(map, what);
            }
            catch (BpfSyscallException e)
            {
                throw new BpfLoadException(_path, $"map '{name}'", $"the kernel refused to register {what} through a link: {e.Message}{Hint(e.ErrorNumber, layout)}", e.ErrorNumber, null, e);
            }
            _registered.Add(new StructOpsRegistration(map, ops.TypeName, layout.OpsName, StructOpsRegistrationKind.Link, link.Link, link.Id));
        }
        return _registered.ToArray();
    }

    private static string Hint(int errno, StructOpsLayout layout) => errno switch
    {
        Errno.EEXIST => layout.OpsName is { } n ? $" (a {layout.Map.StructOps!.TypeName} named '{n}' is already registered)" : " (one of this kind is already registered)",
        Errno.EBUSY => " (the map is already registered)",
        _ => "",
    };

    /// <summary>Unregisters everything this load registered (the load failed after registering).</summary>
    public void RollBack()
    {
        for (int i = _registered.Count - 1; i >= 0; i--) _registered[i].Dispose();
        _registered.Clear();
    }
}
