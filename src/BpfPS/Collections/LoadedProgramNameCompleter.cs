using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Management.Automation.Runspaces;

namespace BpfPS;

/// <summary>Tab completion of program names from the collections this runspace has loaded.</summary>
public sealed class LoadedProgramNameCompleter : IArgumentCompleter
{
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var word = wordToComplete.Trim('\'', '"');
        return RunspaceCollections.List(Runspace.DefaultRunspace)
            .SelectMany(c => c.Programs.Values.Select(p => (Program: p, Collection: c.Name)))
            .Where(x => x.Program.Name.StartsWith(word, StringComparison.OrdinalIgnoreCase))
            .DistinctBy(x => x.Program.Name)
            .Select(x => new CompletionResult(x.Program.Name, x.Program.Name, CompletionResultType.ParameterValue,
                $"{x.Program.Type} program in {x.Collection}"));
    }
}
