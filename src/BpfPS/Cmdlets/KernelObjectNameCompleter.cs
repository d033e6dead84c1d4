using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using BpfPS.Core.Inventory;
using BpfPS.Core.Kernel;

namespace BpfPS;

/// <summary>
/// Tab completion of the names of programs (Get-BpfProgram) or maps (Get-BpfMap) loaded in the kernel, system-wide.
/// Completes nothing when the process may not list them.
/// </summary>
public sealed class KernelObjectNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        IEnumerable<(string Name, string Tip)> names;
        try
        {
            names = commandName.EndsWith("BpfProgram", StringComparison.OrdinalIgnoreCase)
                ? BpfInventory.Programs().Select(p => (p.Name, $"{p.Type} program, id {p.Id}"))
                : BpfInventory.Maps().Select(m => (m.Name, $"{m.Type} map, id {m.Id}"));
            names = names.ToList();
        }
        catch (BpfSyscallException)
        {
            return [];
        }
        return names
            .Where(n => n.Name.Length > 0 && n.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(n => n.Name)
            .OrderBy(n => n.Name, StringComparer.OrdinalIgnoreCase)
            .Select(n => new CompletionResult(n.Name, n.Name, CompletionResultType.ParameterValue, n.Tip));
    }
}
