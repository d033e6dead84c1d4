using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using BpfPS.Core.Btf;

namespace BpfPS;

/// <summary>Tab completion of kernel modules that publish BTF (the entries of /sys/kernel/btf other than vmlinux).</summary>
public sealed class KernelModuleNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        return KernelBtf.ModuleNames()
            .Where(n => n.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .Select(n => new CompletionResult(n, n, CompletionResultType.ParameterValue, Path.Combine(KernelBtf.SysfsDirectory, n)));
    }
}
