using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Parallel;

/// <summary>
/// The default number of threads follows program size: small programs load one by one (threads cost more than they
/// save), two or more large ones on every CPU; an explicit MaxParallelism is taken as given.
/// </summary>
public class DefaultParallelismTests
{
    private const int Large = CollectionOptions.ParallelMinInstructions;

    [Fact]
    public void SmallProgramsLoadOneByOne()
    {
        var sizes = Enumerable.Repeat(40, 100).Append(Large - 1).Append(Large);
        Assert.Equal(1, new CollectionOptions().EffectiveParallelism(sizes));
    }

    [Fact]
    public void TwoLargeProgramsUseEveryCpu()
    {
        var sizes = Enumerable.Repeat(40, 100).Append(Large).Append(Large * 60);
        Assert.Equal(Environment.ProcessorCount, new CollectionOptions().EffectiveParallelism(sizes));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void AnExplicitLimitIsKept(int threads)
    {
        Assert.Equal(threads, new CollectionOptions { MaxParallelism = threads }.EffectiveParallelism([10, 20]));
        Assert.Equal(threads, new CollectionOptions { MaxParallelism = threads }.EffectiveParallelism([Large, Large, Large]));
    }
}
