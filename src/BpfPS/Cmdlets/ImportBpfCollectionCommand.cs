using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using BpfPS.Core.Btf;
using BpfPS.Core.Loading;

namespace BpfPS.Cmdlets;

/// <summary>
/// Import-BpfCollection: loads ELF objects into the kernel (BTF, maps, programs, CO-RE against kernel BTF), all or
/// nothing per object, and tracks the result in the runspace so it is closed with it.
/// </summary>
[Cmdlet(VerbsData.Import, "BpfCollection", DefaultParameterSetName = PathSet, SupportsShouldProcess = true)]
[OutputType(typeof(BpfCollection))]
public sealed class ImportBpfCollectionCommand : PSCmdlet
{
    private const string PathSet = "Path", LiteralPathSet = "LiteralPath", SpecSet = "Spec";
    private BtfSpec? _target;
    private bool _targetResolved;

    /// <summary>Object files; wildcards allowed.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [SupportsWildcards]
    [ValidateNotNullOrEmpty]
    public string[]? Path { get; set; }

    /// <summary>Object files, taken as written (no wildcards); binds FullName/PSPath of piped files.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "LP")]
    [ValidateNotNullOrEmpty]
    public string[]? LiteralPath { get; set; }

    /// <summary>A spec from Get-BpfCollectionSpec, possibly edited.</summary>
    [Parameter(Mandatory = true, ParameterSetName = SpecSet, ValueFromPipeline = true)]
    public BpfCollectionSpecInfo? Spec { get; set; }

    /// <summary>Values for the object's read-only globals (const volatile variables), by name.</summary>
    [Parameter]
    public Hashtable? Constant { get; set; }

    /// <summary>Directory on bpffs for maps pinned by name (default /sys/fs/bpf).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? PinPath { get; set; }

    /// <summary>A BTF file (raw, or an ELF with .BTF) for CO-RE instead of the running kernel's; attach targets, kfuncs and ksyms stay the running kernel's.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? KernelBtf { get; set; }

    /// <summary>Keep each program's verifier log (LoadedProgram.VerifierLog), at -LogLevel or Basic.</summary>
    [Parameter]
    public SwitchParameter VerifierLog { get; set; }

    /// <summary>Verifier log detail: Basic, Verbose, Stats (flags).</summary>
    [Parameter]
    public VerifierLogLevel LogLevel { get; set; }

    /// <summary>Load only these programs (by function name); the others are skipped, whatever their AutoLoad says.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Program { get; set; }

    /// <summary>
    /// Programs verified at once; 1 loads them one by one. Default: the CPUs this process may use when the object has
    /// two or more programs of 1024 instructions or more, else one by one (small programs verify faster than threads
    /// can share them out).
    /// </summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; }

    /// <summary>Attach every program whose section names a target (like a libbpf skeleton's attach); all or nothing.</summary>
    [Parameter]
    public SwitchParameter Attach { get; set; }

    protected override void ProcessRecord()
    {
        if (ParameterSetName == SpecSet)
        {
            Load(Spec!.Spec, Spec.Path);
            return;
        }
        var literal = ParameterSetName == LiteralPathSet;
        foreach (var file in PathResolver.ResolveFiles(this, literal ? LiteralPath! : Path!, literal))
        {
            CollectionSpec spec;
            try
            {
                spec = CollectionSpec.Load(file);
            }
            catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
            {
                WriteError(ErrorRecords.From(e, file));
                continue;
            }
            Load(spec, file);
        }
    }

    private void Load(CollectionSpec spec, string file)
    {
        if (!ShouldProcess(file, Plan(spec, Program))) return;

        if (!_targetResolved)
        {
            _target = TargetBtf.Resolve(this, KernelBtf);
            _targetResolved = true;
        }
        var options = new CollectionOptions
        {
            TargetBtf = _target,
            PinPath = PinPath is null ? null : PathResolver.ResolveOutput(this, PinPath),
            LogLevel = VerifierLog && LogLevel == VerifierLogLevel.None ? VerifierLogLevel.Basic : LogLevel,
            Constants = ConstantValues.From(Constant),
            Progress = new LoadProgressReporter(this, file, activityId: 1),
            Programs = Program,
            MaxParallelism = ThrottleLimit,
        };

        try
        {
            var runspace = Runspace.DefaultRunspace;
            var collection = new BpfCollection(Collection.Load(spec, options), runspace?.Id ?? 0);
            RunspaceCollections.Add(runspace, collection);
            foreach (var warning in collection.Warnings) WriteWarning($"{file}: {warning}");
            if (collection.SkippedPrograms.Count > 0) WriteVerbose($"Skipped {file}: programs {string.Join(", ", collection.SkippedPrograms)} (not loaded).");
            if (Attach && !LinkCommands.AttachSections(this, collection)) return;
            // Only when verbose output is on: the message asks the kernel for every program's id (which a load does not
            // otherwise), and its formatting JIT-compiles framework generics over ValueTuples on a session's first load.
            if (IsVerbose())
                WriteVerbose($"Loaded {file}: programs {Describe(collection.Programs.Values.Select(p => (p.Name, p.Id)))}; " +
                             $"maps {Describe(collection.Maps.Values.Select(m => (m.Name, m.Id)))}.");
            WriteObject(collection);
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            WriteError(ErrorRecords.From(e, file));
        }
        finally
        {
            WriteProgress(new ProgressRecord(1, $"Loading {System.IO.Path.GetFileName(file)}", "Done") { RecordType = ProgressRecordType.Completed });
        }
    }

    /// <summary>What the load would create, for -WhatIf and -Confirm.</summary>
    private static string Plan(CollectionSpec spec, string[]? only)
    {
        // Numbers and enums as strings: interpolating a uint or an enum JIT-compiles DefaultInterpolatedStringHandler's
        // AppendFormatted for its type at the first load of a session.
        var maps = string.Join(", ", spec.Maps.Values.Select(m => $"{m.Name} ({m.Type.ToString()}, {m.MaxEntries.ToString()} entries)"));
        var chosen = spec.Programs.Values.Where(p => only is null ? p.AutoLoad : only.Contains(p.Name, StringComparer.Ordinal)).ToList();
        var programs = string.Join(", ", chosen.Select(p => $"{p.Name} ({p.Type.ToString()})"));
        return $"Create {spec.Maps.Count} maps [{maps}] and load {chosen.Count} programs [{programs}]";
    }

    /// <summary>Whether WriteVerbose would show anything: -Verbose given (and not :$false), else $VerbosePreference.</summary>
    private bool IsVerbose()
    {
        if (MyInvocation.BoundParameters.TryGetValue("Verbose", out var verbose))
            return verbose is SwitchParameter { IsPresent: true } || verbose is true;
        var value = GetVariableValue("VerbosePreference");
        // A preference set in a child scope may hold a string ('Continue'): convert it as PowerShell does.
        if (value is not ActionPreference preference && !LanguagePrimitives.TryConvertTo(value, out preference))
            return false;
        return preference is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);
    }

    private static string Describe(IEnumerable<(string Name, uint Id)> items) =>
        string.Join(", ", items.Select(i => $"{i.Name} (id {i.Id})"));
}
