using System.Buffers.Binary;
using System.Runtime.InteropServices;
using BpfPS.Core.Asm;
using BpfPS.Core.Btf;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Loading;

/// <summary>
/// One all-or-nothing load of a <see cref="CollectionSpec"/>, in libbpf 1.1's order: everything that needs no kernel
/// first (externs, CO-RE, constants, kconfig, attach targets), then object BTF, maps, programs, and map contents.
/// Every descriptor and pin it creates is recorded so that a failure at any step undoes all of them.
/// </summary>
internal sealed class CollectionLoader
{
    private readonly CollectionSpec _spec;
    private readonly CollectionOptions _options;
    private readonly List<BpfFd> _created = [];
    private readonly List<string> _newPins = [];
    private readonly Dictionary<int, BpfFd> _moduleBtfFds = [];
    private readonly List<string> _warnings = [];
    private readonly KernelIdTargets _kernel;
    private StructOpsLoader? _structOps;

    public CollectionLoader(CollectionSpec spec, CollectionOptions options)
    {
        _spec = spec;
        _options = options;
        _kernel = new KernelIdTargets(options);
    }

    // Attach targets and kfunc/ksym module fds are ids the kernel checks: the running kernel's, never a custom CO-RE target.
    private BtfSpec Vmlinux => _kernel.Vmlinux;
    private IReadOnlyList<BtfSpec> Modules => _kernel.Modules;

    public Collection Load()
    {
        try
        {
            return LoadAll();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            RollBack();
            if (e is BpfLoadException or BpfFormatException) throw;
            if (e is BpfSyscallException s) throw new BpfLoadException(_spec.Path, null, s.Message, s.ErrorNumber, s.Log, s);
            throw new BpfLoadException(_spec.Path, null, e.Message, 0, null, e);
        }
        finally
        {
            // Module BTF fds were only needed for PROG_LOAD; the kernel holds its own references now.
            foreach (var fd in _moduleBtfFds.Values) fd.Dispose();
        }
    }

    private Collection LoadAll()
    {
        // 1. Everything that needs no kernel objects: fail here and nothing needs undoing.
        var (toLoad, skipped) = SelectPrograms();
        foreach (var p in toLoad.Values)
            if (p.Type == BpfProgramType.Unspec)
                throw new BpfLoadException(_spec.Path, $"program '{p.Name}'", $"has no program type; check its ELF section name '{p.SectionName}'");

        var pure = ProgramRelocator.CreateEnvironment(_spec, _options);
        var ksyms = (KsymTable)pure.Ksyms; // CreateEnvironment's table (the core's own type: see KsymTable)
        var environment = new RelocationEnvironment { Targets = pure.Targets, Ksyms = ksyms, ModuleBtfFd = index => ModuleBtfFd(index).Value };
        var coreCache = ProgramRelocator.CreateCoreCache(_spec, environment);
        var relocated = new Dictionary<string, RelocatedProgram>(StringComparer.Ordinal);
        var inObjectOrder = toLoad.Values.ToArray();
        var attachTargets = new AttachTarget[inObjectOrder.Length]; // in object order, like inObjectOrder
        _structOps = StructOpsLoader.Prepare(_spec);
        int at = 0;
        foreach (var (name, program) in toLoad)
        {
            relocated[name] = ProgramRelocator.Relocate(_spec, program, environment, applyMapReferences: false, coreCache); // fds come later
            attachTargets[at++] = _structOps.TryGetAttach(name, out uint structOpsType, out _) ? new AttachTarget(structOpsType, -1) : ResolveAttachTarget(program);
        }
        var initialValues = _options.Constants is { } constants ? CollectionConstants.Apply(_spec, constants) : [];
        foreach (var (name, map) in _spec.Maps)
            if (map.IsInternal && map.SectionName == ".kconfig")
                initialValues[name] = KernelConfigExterns.Build(_spec, map, VirtualKconfigValue, () => _options.KernelConfig ?? KernelConfig.ReadSystem());
        var fdArray = BuildFdArray(ksyms);

        // 2. Kernel objects, each recorded for rollback as soon as it exists.
        var btf = LoadBtf(toLoad.Values);
        var maps = new OrderedDictionary<string, LoadedMap>(StringComparer.Ordinal);
        foreach (var (name, map) in _spec.Maps)
            maps[name] = CreateMap(map, btf, initialValues.GetValueOrDefault(name));
        foreach (var map in maps.Values)
            if (map.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps && !map.IsReusedPin)
                FillSlots(map, target => maps.TryGetValue(target, out var m) ? m.Fd : null, "map");

        var programs = LoadPrograms(inObjectOrder, relocated, attachTargets, btf, maps, fdArray);
        int done = programs.Count;
        foreach (var map in maps.Values)
            if (map.Type == BpfMapType.ProgArray)
                FillSlots(map, target => programs.TryGetValue(target, out var p) ? p.Fd : null, "program", skipped);
        _options.Progress?.Report(new LoadProgress(done, toLoad.Count, null));

        uint btfId = btf is null ? 0 : BpfSyscall.GetBtfInfo(btf).Id;
        var structOps = _options.RegisterStructOps ? _structOps.Register(maps, programs, StructOpsLinks.Create) : [];
        return new Collection(_spec, btf, btfId, maps, programs, skipped, _warnings) { StructOps = structOps };
    }

    /// <summary>
    /// The programs this load relocates and loads (libbpf's autoload): those named in <see cref="CollectionOptions.Programs"/>,
    /// else those whose <see cref="ProgramSpec.AutoLoad"/> is on. The rest are skipped as libbpf skips them: no CO-RE,
    /// no attach target, no PROG_LOAD.
    /// </summary>
    private (OrderedDictionary<string, ProgramSpec> Load, List<string> Skipped) SelectPrograms()
    {
        if (_options.Programs is { } wanted)
            foreach (var name in wanted)
                if (!_spec.Programs.ContainsKey(name))
                    throw new BpfLoadException(_spec.Path, $"program '{name}'", $"is not in the object (its programs: {string.Join(", ", _spec.Programs.Keys)})");
        var load = new OrderedDictionary<string, ProgramSpec>(StringComparer.Ordinal);
        var skipped = new List<string>();
        foreach (var (name, program) in _spec.Programs)
        {
            if (_options.Programs is { } names ? names.Contains(name) : program.AutoLoad) load[name] = program;
            else skipped.Add(name);
        }
        return (load, skipped);
    }

    /// <summary>
    /// BPF_BTF_LOAD of the object's BTF. When the kernel refuses it and nothing needs it (<see cref="ObjectBtfRequirements"/>),
    /// the load goes on without it, as libbpf's does: no func or line info, maps without BTF key/value types, and a warning.
    /// </summary>
    private BpfFd? LoadBtf(IEnumerable<ProgramSpec> programs)
    {
        if (_spec.Btf is null) return null;
        try
        {
            return Track(BpfSyscall.BtfLoad(_spec.Btf.RawBytes.Span, (uint)_options.LogLevel & 1, LogSize));
        }
        catch (BpfSyscallException e)
        {
            // Missing privileges are not a refusal of this BTF: report them as they are.
            if (e.IsPermissionDenied)
                throw new BpfLoadException(_spec.Path, "BTF", $"the kernel refused the object's BTF: {e.Message}", e.ErrorNumber, e.Log, e);
            if (ObjectBtfRequirements.Find(_spec, programs) is string needs)
                throw new BpfLoadException(_spec.Path, "BTF", WithLogTail($"the kernel refused the object's BTF, which {needs} needs: {e.Message}", e.Log), e.ErrorNumber, e.Log, e);
            var reason = e.Log?.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
            _warnings.Add($"the kernel refused the object's BTF ({Errno.Describe(e.ErrorNumber)}{(reason is null ? "" : $": {reason}")}); " +
                          "loaded without it, as libbpf does: programs have no function or line info, maps no BTF key/value types");
            return null;
        }
    }

    private uint LogSize => _options.LogSize != 0 ? _options.LogSize : BpfSyscall.DefaultLogSize;

    // ---- maps ----

    private LoadedMap CreateMap(MapSpec spec, BpfFd? btf, byte[]? initialValue)
    {
        string kernelName = MapNaming.KernelName(spec, _spec.Path);
        var definition = MapDefinition.For(spec);
        string? pinPath = spec.Pinning == MapPinning.ByName ? Pinning.PathFor(spec, _options.PinPath) : null;
        string context = $"map '{spec.Name}'";
        if (spec.StructOps is not null)
        {
            var (structOpsFd, structOpsInfo) = _structOps!.CreateMap(spec, kernelName, btf, Track);
            return new LoadedMap(spec, kernelName, structOpsFd, structOpsInfo, null, false, null, 0, 0);
        }
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                if (pinPath is not null && TryReusePin(spec, definition, kernelName, pinPath) is LoadedMap reused) return reused;

                var (fd, keyTypeId, valueTypeId) = CreateKernelMap(spec, definition, kernelName, btf);
                Initialise(spec, fd, definition, initialValue);
                if (pinPath is not null)
                {
                    try
                    {
                        BpfSyscall.ObjectPin(fd, pinPath);
                        _newPins.Add(pinPath);
                    }
                    catch (BpfSyscallException e) when (e.ErrorNumber == Errno.EEXIST && attempt == 0)
                    {
                        // Someone pinned it between our check and our pin: reuse theirs, as libbpf does.
                        Untrack(fd);
                        continue;
                    }
                    catch (BpfSyscallException e)
                    {
                        var root = Path.GetDirectoryName(pinPath)!;
                        var hint = Directory.Exists(root) && !BpfFileSystem.IsBpfFs(root) ? $" ({root} is not on a bpffs: mount -t bpf bpf {root})" : "";
                        throw new BpfLoadException(_spec.Path, context, $"cannot pin at {pinPath}: {e.Message}{hint}", e.ErrorNumber, null, e);
                    }
                }
                var info = BpfSyscall.GetMapInfo(fd);
                return new LoadedMap(spec, kernelName, fd, info, pinPath, false, (keyTypeId | valueTypeId) != 0 ? _spec.Btf : null, keyTypeId, valueTypeId);
            }
        }
        catch (BpfSyscallException e)
        {
            var unsupported = Features.LoadFailureDiagnosis.ExplainMapCreate(spec.Type, e.ErrorNumber);
            throw new BpfLoadException(_spec.Path, context, unsupported is null ? e.Message : $"{unsupported}: {e.Message}", e.ErrorNumber, e.Log, e);
        }
    }

    private LoadedMap? TryReusePin(MapSpec spec, MapDefinition definition, string kernelName, string pinPath)
    {
        var existing = BpfSyscall.TryObjectGet(pinPath);
        if (existing is null) return null;
        Track(existing);
        var info = BpfSyscall.GetMapInfo(existing);
        if (Pinning.Incompatibility(info, definition) is string why)
            throw new BpfLoadException(_spec.Path, $"map '{spec.Name}'", $"the map pinned at {pinPath} is incompatible: {why}");
        return new LoadedMap(spec, kernelName, existing, info, pinPath, true, null, info.BtfKeyTypeId, info.BtfValueTypeId);
    }

    /// <summary>libbpf bpf_object__create_map: BTF key/value types where the map type allows them, inner map from a template.</summary>
    /// <summary>A created map and the BTF key/value type ids it was created with (0 without BTF); not a ValueTuple (JIT-compiled).</summary>
    private readonly record struct CreatedMap(BpfFd Fd, uint KeyTypeId, uint ValueTypeId);

    private CreatedMap CreateKernelMap(MapSpec spec, MapDefinition definition, string kernelName, BpfFd? btf)
    {
        bool withBtf = btf is not null && TakesBtfTypes(spec.Type) && (spec.KeyTypeId | spec.ValueTypeId) != 0;
        BpfFd? innerTemplate = null;
        try
        {
            if (spec.Type is BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps && spec.InnerMap is { } inner)
            {
                string innerName = MapNaming.Truncate(inner.Name.Length > 0 ? inner.Name : spec.Name + ".inner");
                innerTemplate = CreateKernelMap(inner, MapDefinition.For(inner), innerName, btf).Fd;
            }

            BpfFd Create(bool useBtf) => BpfSyscall.MapCreate(definition.Type, definition.KeySize, definition.ValueSize, definition.MaxEntries,
                definition.Flags, kernelName, innerTemplate, useBtf ? btf : null, useBtf ? spec.KeyTypeId : 0, useBtf ? spec.ValueTypeId : 0,
                numaNode: spec.NumaNode, mapExtra: definition.MapExtra);

            try
            {
                return new CreatedMap(Track(Create(withBtf)), withBtf ? spec.KeyTypeId : 0, withBtf ? spec.ValueTypeId : 0);
            }
            catch (BpfSyscallException) when (withBtf)
            {
                // libbpf: "Error in bpf_create_map_xattr ... Retrying without BTF."
                return new CreatedMap(Track(Create(false)), 0, 0);
            }
        }
        finally
        {
            // The template only tells the kernel the inner shape; libbpf destroys it right after.
            if (innerTemplate is not null) Untrack(innerTemplate);
        }
    }

    /// <summary>Map types libbpf creates without BTF key/value types (the kernel refuses them there).</summary>
    private static bool TakesBtfTypes(BpfMapType type) => type is not (BpfMapType.PerfEventArray or BpfMapType.CgroupArray
        or BpfMapType.StackTrace or BpfMapType.ArrayOfMaps or BpfMapType.HashOfMaps or BpfMapType.Devmap or BpfMapType.DevmapHash
        or BpfMapType.Cpumap or BpfMapType.Xskmap or BpfMapType.Sockmap or BpfMapType.Sockhash or BpfMapType.Queue or BpfMapType.Stack);

    /// <summary>Global data: element 0 gets the section's bytes (constants and kconfig applied); .rodata and .kconfig are frozen.</summary>
    private static void Initialise(MapSpec spec, BpfFd fd, MapDefinition definition, byte[]? rewritten)
    {
        if (!spec.IsInternal) return;
        var source = rewritten ?? spec.InitialValue;
        if (source is not null)
        {
            var value = new byte[definition.ValueSize];
            source.AsSpan(0, Math.Min(source.Length, value.Length)).CopyTo(value);
            BpfSyscall.MapUpdate(fd, new byte[definition.KeySize], value);
        }
        if (spec.Freeze) BpfSyscall.MapFreeze(fd);
    }

    /// <summary>".values" initialisers: slot index to the fd of a map (map-in-map) or program (prog array).</summary>
    private void FillSlots(LoadedMap map, Func<string, BpfFd?> fdOf, string what, IReadOnlyList<string>? skipped = null)
    {
        Span<byte> key = stackalloc byte[4];
        Span<byte> value = stackalloc byte[4];
        foreach (var entry in map.Spec.ContentArray)
        {
            if (fdOf(entry.TargetName) is null && skipped?.Contains(entry.TargetName) == true)
                throw new BpfLoadException(_spec.Path, $"map '{map.Name}'", $"slot {entry.Index} names program '{entry.TargetName}', which this load skips: load that program too",
                    Errno.EBADF, null); // libbpf fails here with EBADF, updating the slot with the skipped program's fd -1
            var target = fdOf(entry.TargetName)
                ?? throw new BpfLoadException(_spec.Path, $"map '{map.Name}'", $"slot {entry.Index} names {what} '{entry.TargetName}', which the object does not define");
            BinaryPrimitives.WriteUInt32LittleEndian(key, entry.Index);
            BinaryPrimitives.WriteInt32LittleEndian(value, target.Value);
            try
            {
                BpfSyscall.MapUpdate(map.Fd, key, value);
            }
            catch (BpfSyscallException e)
            {
                throw new BpfLoadException(_spec.Path, $"map '{map.Name}'", $"cannot set slot {entry.Index} to {what} '{entry.TargetName}': {e.Message}", e.ErrorNumber, null, e);
            }
        }
    }

    // ---- programs ----

    /// <summary>
    /// Loads every program with <see cref="LoadProgram"/>, on up to <see cref="CollectionOptions.MaxParallelism"/> threads
    /// (see <see cref="ParallelLoad"/> for what stays as in a one-by-one load). Progress is reported on this thread.
    /// </summary>
    private OrderedDictionary<string, LoadedProgram> LoadPrograms(ProgramSpec[] inObjectOrder, Dictionary<string, RelocatedProgram> relocated,
        AttachTarget[] attachTargets, BpfFd? btf, OrderedDictionary<string, LoadedMap> maps, int[] fdArray)
    {
        // Load order: object order, each program after the programs of the object it needs (positions k in that order).
        var needs = new int[inObjectOrder.Length][];
        var specs = inObjectOrder;
        var orderOf = new int[inObjectOrder.Length];
        for (int i = 0; i < orderOf.Length; i++) orderOf[i] = i;
        if (inObjectOrder.Any(p => ProgramsNeededBy(p).Count > 0))
        {
            var position = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < inObjectOrder.Length; i++) position[inObjectOrder[i].Name] = i;
            // A needed program that this load skips is not waited for: its slot stays empty, as in a one-by-one load.
            IEnumerable<int> Needed(ProgramSpec p) => ProgramsNeededBy(p).Where(position.ContainsKey).Select(name => position[name]);
            var order = ParallelLoad.Order(inObjectOrder.Length, i => Needed(inObjectOrder[i]));
            specs = order.Select(i => inObjectOrder[i]).ToArray();
            for (int k = 0; k < order.Length; k++) orderOf[order[k]] = k;
            for (int k = 0; k < specs.Length; k++) needs[k] = Needed(specs[k]).Select(i => orderOf[i]).ToArray();
            var inLoadOrder = new AttachTarget[attachTargets.Length];
            for (int k = 0; k < order.Length; k++) inLoadOrder[k] = attachTargets[order[k]];
            attachTargets = inLoadOrder;
        }

        foreach (var attach in attachTargets)
            if (attach.Module >= 0) ModuleBtfFd(attach.Module); // opened here, once: the workers only read them
        int total = specs.Length, done = 0;
        if (total > 0) _options.Progress?.Report(new LoadProgress(0, total, specs[0].Name));
        var stats = SyscallStats.Current; // bpf() calls of every thread count here, as in a one-by-one load
        int parallelism = _options.EffectiveParallelism(specs.Select(p => relocated[p.Name].Instructions.Length));
        var loaded = ParallelLoad.Run(total, parallelism,
            k => needs[k] ?? [],
            k =>
            {
                using var counting = SyscallStats.CountOn(stats);
                return LoadProgram(specs[k], relocated[specs[k].Name], attachTargets[k], btf, maps, fdArray);
            },
            (_, _) =>
            {
                if (++done < total) _options.Progress?.Report(new LoadProgress(done, total, specs[done].Name));
            });
        var programs = new OrderedDictionary<string, LoadedProgram>(StringComparer.Ordinal);
        for (int i = 0; i < total; i++) programs[inObjectOrder[i].Name] = loaded[orderOf[i]];
        return programs;
    }

    private LoadedProgram LoadProgram(ProgramSpec program, RelocatedProgram relocated, AttachTarget attach, BpfFd? btf,
        IReadOnlyDictionary<string, LoadedMap> maps, int[] fdArray)
    {
        ProgramRelocator.ApplyMapReferences(_spec, program, relocated.Instructions, name => maps[name].Fd.Value);
        var request = new ProgramLoadRequest(program.Type, relocated.Instructions, btf is null ? null : program.FuncInfoArray, btf is null ? null : program.LineInfoArray)
        {
            License = program.License.Length > 0 ? program.License : _spec.License,
            Name = program.Name,
            ExpectedAttachType = _structOps!.TryGetAttach(program.Name, out _, out var member) ? member : program.ExpectedAttachType,
            Flags = program.Flags,
            KernelVersion = program.KernelVersion != 0 ? program.KernelVersion : _spec.KernelVersion != 0 ? _spec.KernelVersion : RunningKernelVersion(),
            LogLevel = (uint)_options.LogLevel,
            LogSize = LogSize,
            ProgramBtf = btf,
            AttachBtfId = attach.Id,
            AttachBtfObject = attach.Module >= 0 ? ModuleBtfFd(attach.Module) : null,
            FdArrayArray = fdArray,
        };

        ProgramLoadResult result;
        try
        {
            result = BpfSyscall.ProgramLoad(request);
        }
        catch (BpfSyscallException e)
        {
            throw VerifierFailure(program, relocated, e);
        }
        var fd = Track(result.Fd);
        BindReadOnlyData(fd, maps);
        return new LoadedProgram(program, fd, relocated.Instructions, result.VerifierLog, relocated.CoreRelocationArray, attach.Id);
    }

    /// <summary>
    /// Programs of this object that must exist before <paramref name="program"/> loads (their fds go into its load
    /// request). None today: prog-array slots, the one program-to-program reference, are filled after all programs.
    /// </summary>
    private static IReadOnlyList<string> ProgramsNeededBy(ProgramSpec program) => [];

    /// <summary>libbpf binds .rodata maps to every program so they live as long as it (failures are not fatal there either).</summary>
    private static void BindReadOnlyData(BpfFd program, IReadOnlyDictionary<string, LoadedMap> maps)
    {
        foreach (var map in maps.Values)
        {
            if (!map.Spec.IsInternal || !map.Spec.SectionName.StartsWith(".rodata", StringComparison.Ordinal)) continue;
            try { BpfSyscall.ProgramBindMap(program, map.Fd); }
            catch (BpfSyscallException) { }
        }
    }

    private BpfLoadException VerifierFailure(ProgramSpec program, RelocatedProgram relocated, BpfSyscallException e)
    {
        var message = $"the kernel refused the program: {Errno.Describe(e.ErrorNumber)}";
        if (Features.LoadFailureDiagnosis.ExplainProgramLoad(program.Type, e.ErrorNumber) is string unsupported) message = $"{unsupported}; {message}";
        if (e.IsPermissionDenied)
            message += BpfSyscallException.HasBpfCapability()
                ? " although this process is privileged"
                : $" ({BpfSyscallException.PermissionHint})";
        if (VerifierLogs.ExplainPoisonedInstruction(e.Log, relocated.CoreRelocations) is string core) message += "\n" + core;
        if (e.ErrorNumber == Errno.EPERM && string.IsNullOrEmpty(e.Log))
            message += $"\nThe verifier never ran (empty log): this kernel does not permit {program.Type} programs{(program.AttachTo is null ? "" : $" attached to '{program.AttachTo}'")} here.";
        return new BpfLoadException(_spec.Path, $"program '{program.Name}'", WithLogTail(message, e.Log), e.ErrorNumber, e.Log, e);
    }

    private static string WithLogTail(string message, string? log) =>
        string.IsNullOrWhiteSpace(log) ? message : $"{message}\nverifier log (last lines):\n{VerifierLogs.Tail(log)}";

    /// <summary>
    /// attach_btf_id for BTF-attached programs (libbpf SEC_ATTACH_BTF): the kernel type "&lt;prefix&gt;&lt;target&gt;" looked up
    /// in vmlinux, then in modules.
    /// </summary>
    private AttachTarget ResolveAttachTarget(ProgramSpec program)
    {
        if (program.AttachTo is null || program.Type is not (BpfProgramType.Tracing or BpfProgramType.Lsm or BpfProgramType.Ext)) return new AttachTarget(0, -1);
        if (program.Type == BpfProgramType.Ext)
            throw new BpfLoadException(_spec.Path, $"program '{program.Name}'", "freplace programs attach to another BPF program, which BpfPS cannot set yet");
        var (prefix, kind) = program.ExpectedAttachType switch
        {
            BpfAttachType.TraceRawTp => ("btf_trace_", BtfKind.Typedef),
            BpfAttachType.LsmMac or BpfAttachType.LsmCgroup => ("bpf_lsm_", BtfKind.Func),
            BpfAttachType.TraceIter => ("bpf_iter_", BtfKind.Func),
            _ => ("", BtfKind.Func),
        };
        var (spec, id, module) = KsymResolver.Find(prefix + program.AttachTo, kind, Vmlinux, Modules);
        if (spec is null)
            throw new BpfLoadException(_spec.Path, $"program '{program.Name}'", $"attach target {kind} '{prefix}{program.AttachTo}' not found in kernel BTF");
        return new AttachTarget(id, module);
    }

    /// <summary>fd_array for kfuncs in modules: slot 0 unused (libbpf), slot i+1 the BTF fd of module i.</summary>
    private int[] BuildFdArray(KsymTable ksyms)
    {
        int highest = -1;
        for (int i = 0; i < ksyms.Count; i++)
        {
            ref readonly var k = ref ksyms.At(i);
            if (k.Kind == KsymKind.Function && k.IsResolved) highest = Math.Max(highest, k.ModuleIndex);
        }
        if (highest < 0) return [];
        var fds = new int[highest + 2];
        for (int i = 0; i < ksyms.Count; i++)
        {
            ref readonly var k = ref ksyms.At(i);
            if (k.Kind == KsymKind.Function && k.IsResolved && k.ModuleIndex >= 0) fds[k.ModuleIndex + 1] = ModuleBtfFd(k.ModuleIndex).Value;
        }
        return fds;
    }

    /// <summary>The kernel BTF object of module spec <paramref name="index"/>, found by name among loaded BTF objects.</summary>
    private BpfFd ModuleBtfFd(int index)
    {
        if (_moduleBtfFds.TryGetValue(index, out var cached)) return cached;
        string name = Path.GetFileName(Modules[index].Source);
        foreach (var id in BpfSyscall.BtfIds())
        {
            BpfFd fd;
            try { fd = BpfSyscall.BtfGetFdById(id); }
            catch (BpfSyscallException e) when (e.ErrorNumber == Errno.ENOENT) { continue; } // unloaded meanwhile
            var info = BpfSyscall.GetBtfInfo(fd);
            if (info.IsKernel && info.Name == name) return _moduleBtfFds[index] = fd;
            fd.Dispose();
        }
        throw new BpfLoadException(_spec.Path, $"module '{name}'", "no kernel BTF object with this name is loaded");
    }

    // ---- kconfig virtual values ----

    private ulong? VirtualKconfigValue(string name) => name switch
    {
        "LINUX_KERNEL_VERSION" => RunningKernelVersion() is uint v && v != 0 ? v
            : throw new BpfLoadException(_spec.Path, "extern (kcfg) 'LINUX_KERNEL_VERSION'", "failed to get kernel version"),
        "LINUX_HAS_BPF_COOKIE" => KernelFeatures.HasBpfCookie ? 1UL : 0UL,
        "LINUX_HAS_SYSCALL_WRAPPER" => KernelFeatures.HasSyscallWrapper ? 1UL : 0UL,
        _ => null,
    };

    /// <summary>The running kernel's LINUX_VERSION_CODE, read once per process (the release cannot change under us).</summary>
    private static uint RunningKernelVersion()
    {
        // Not a Lazy<uint>: its methods are JIT-compiled at the first load of every session. Two threads may both read the
        // release; they find the same value.
        long known = Volatile.Read(ref s_runningKernelVersion);
        if (known >= 0) return (uint)known;
        uint version = KernelConfig.VersionCode(KernelConfig.KernelRelease());
        Volatile.Write(ref s_runningKernelVersion, version);
        return version;
    }

    private static long s_runningKernelVersion = -1;

    /// <summary>
    /// A program's attach_btf_id and the module whose BTF holds it (-1: vmlinux). Kept in arrays by program position: a
    /// Dictionary or ValueTuple over it would be framework generics JIT-compiled at the first load of every session.
    /// </summary>
    private readonly record struct AttachTarget(uint Id, int Module);

    // ---- ownership ----

    private BpfFd Track(BpfFd fd)
    {
        lock (_created) _created.Add(fd); // programs load on several threads
        return fd;
    }

    private void Untrack(BpfFd fd)
    {
        lock (_created) _created.Remove(fd);
        fd.Dispose();
    }

    /// <summary>Closes everything this load created, newest first, and removes the pins it made (never older ones).</summary>
    private void RollBack()
    {
        _structOps?.RollBack(); // before the maps' descriptors close: unregistering needs them
        for (int i = _created.Count - 1; i >= 0; i--) _created[i].Dispose();
        _created.Clear();
        foreach (var pin in _newPins)
        {
            try { File.Delete(pin); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        _newPins.Clear();
    }
}
