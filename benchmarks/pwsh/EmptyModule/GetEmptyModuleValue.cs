using System.Management.Automation;

namespace EmptyModule;

/// <summary>Writes 1: the module exists only to be imported.</summary>
[Cmdlet(VerbsCommon.Get, "EmptyModuleValue")]
[OutputType(typeof(int))]
public sealed class GetEmptyModuleValueCommand : PSCmdlet
{
    protected override void ProcessRecord() => WriteObject(1);
}
