namespace BpfPS.Core.Tests;
public class SmokeTests
{
    [Fact]
    public void FormatExceptionNamesFileSectionAndOffset()
    {
        var e = new BpfFormatException("bad magic", "x.o", ".BTF", 4);
        Assert.Equal("x.o: .BTF: offset 0x4: bad magic", e.Message);
    }
}
