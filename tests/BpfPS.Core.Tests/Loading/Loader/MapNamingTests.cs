using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

public class MapNamingTests
{
    // Expected names are the examples libbpf 1.1 gives in its comment on internal_map_name().
    [Theory]
    [InlineData("my_object_name", ".rodata", "my_objec.rodata")]
    [InlineData("my_object_name", ".bss", "my_objec.bss")]
    [InlineData("my_object_name", ".kconfig", "my_obje.kconfig")]
    [InlineData("my_object_name", ".rodata.abracadabra", ".rodata.abracad")]
    public void InternalMapsAreNamedLikeLibbpf(string objectName, string section, string expected) =>
        Assert.Equal(expected, MapNaming.InternalMapName(objectName, section));

    [Fact]
    public void CharactersTheKernelRefusesBecomeUnderscores() =>
        Assert.Equal("my_obj.data", MapNaming.InternalMapName("my-obj", ".data"));

    [Theory]
    [InlineData("/tmp/core_fields.bpf.o", "core_fields")]
    [InlineData("x.o", "x")]
    [InlineData("/a/averyveryverylongobjectname.o", "averyveryverylo")]
    public void ObjectNameIsTheFileNameUpToItsFirstDot(string path, string expected) =>
        Assert.Equal(expected, MapNaming.ObjectName(path));

    [Fact]
    public void UserMapsKeepTheirNameTruncatedTo15()
    {
        var map = new MapSpec { Name = "a_rather_long_map_name" };
        Assert.Equal("a_rather_long_m", MapNaming.KernelName(map, "/x/obj.o"));
    }
}
