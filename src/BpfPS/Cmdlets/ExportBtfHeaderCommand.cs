using System.Management.Automation;
using BpfPS.Core.Btf;

namespace BpfPS.Cmdlets;

/// <summary>Export-BtfHeader: writes a C header declaring every type of a BTF source (like `bpftool btf dump format c`).</summary>
[Cmdlet(VerbsData.Export, "BtfHeader", DefaultParameterSetName = BtfSources.Kernel, SupportsShouldProcess = true)]
[OutputType(typeof(FileInfo))]
public sealed class ExportBtfHeaderCommand : PSCmdlet
{
    /// <summary>The header file to write.</summary>
    [Parameter(Mandatory = true, Position = 0)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Declare the running kernel's types (the default): the usual vmlinux.h.</summary>
    [Parameter(ParameterSetName = BtfSources.Kernel)]
    public SwitchParameter Kernel { get; set; }

    /// <summary>Declare the types of an ELF object's .BTF or of a raw BTF file.</summary>
    [Parameter(Mandatory = true, ParameterSetName = "SourcePath")]
    [ValidateNotNullOrEmpty]
    public string? SourcePath { get; set; }

    /// <summary>Declare the types a kernel module adds on top of vmlinux.</summary>
    [Parameter(Mandatory = true, ParameterSetName = BtfSources.Module)]
    [ArgumentCompleter(typeof(KernelModuleNameCompleter))]
    [ValidateNotNullOrEmpty]
    public string? Module { get; set; }

    /// <summary>Do not overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter NoClobber { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void EndProcessing()
    {
        var spec = ParameterSetName switch
        {
            "SourcePath" => BtfSources.FileSpecs(this, [SourcePath!], literal: false).FirstOrDefault(),
            BtfSources.Module => BtfSources.ModuleSpecs(this, [Module!]).FirstOrDefault(),
            _ => BtfSources.KernelSpec(this).FirstOrDefault(),
        };
        if (spec is null) return; // the reason was written as an error

        var output = PathResolver.ResolveOutput(this, Path);
        if (NoClobber && File.Exists(output))
        {
            WriteError(new ErrorRecord(new IOException($"'{output}' already exists and -NoClobber was given."),
                "FileExists", ErrorCategory.ResourceExists, output));
            return;
        }
        if (!ShouldProcess(output, $"Write a C header declaring the {spec.TypeCount} types of {spec.Source}")) return;

        // Write beside the target and move into place, so a failure never leaves half a header behind.
        var temporary = output + ".tmp";
        try
        {
            using (var writer = new StreamWriter(temporary, append: false, new System.Text.UTF8Encoding(false)))
            {
                BtfTypeText.WriteHeader(spec, writer);
            }
            File.Move(temporary, output, overwrite: true);
            WriteVerbose($"Wrote {output} from {spec.Source}.");
            if (PassThru) WriteObject(new FileInfo(output));
        }
        catch (Exception e) when (ErrorRecords.IsWorkFailure(e))
        {
            File.Delete(temporary);
            WriteError(e is IOException or UnauthorizedAccessException
                ? new ErrorRecord(e, "WriteError", e is UnauthorizedAccessException ? ErrorCategory.PermissionDenied : ErrorCategory.WriteError, output)
                : ErrorRecords.From(e, spec.Source));
        }
    }
}
