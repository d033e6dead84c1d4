using BpfPS.Core.CoRe;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>The "___flavor" rule from libbpf's bpf_core_essential_name_len and its documentation.</summary>
public class CoreNamesTests
{
    [Theory]
    [InlineData("task_struct", "task_struct")]
    [InlineData("task_struct___v2", "task_struct")]
    [InlineData("task_struct___2", "task_struct")]
    [InlineData("a___b___c", "a___b")]          // only the last suffix goes
    [InlineData("foo___", "foo___")]            // nothing after the separator
    [InlineData("foo____bar", "foo____bar")]    // four underscores: the character after "___" is an underscore
    [InlineData("___bar", "___bar")]            // nothing before it
    [InlineData("_x___y", "_x")]
    [InlineData("", "")]
    public void EssentialNameDropsTheLastFlavorSuffix(string name, string essential) =>
        Assert.Equal(essential, CoreNames.Essential(name).ToString());

    [Fact]
    public void TypeMatchNamesTreatAnonymousTargetsStrictly()
    {
        Assert.True(CoreNames.MatchForTypeMatches("", ""));
        Assert.False(CoreNames.MatchForTypeMatches("x", ""));
        Assert.False(CoreNames.MatchForTypeMatches("", "x"));
        Assert.True(CoreNames.MatchForTypeMatches("x___1", "x___2"));
    }
}
