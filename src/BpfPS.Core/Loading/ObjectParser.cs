namespace BpfPS.Core.Loading;

// Stub: the object-parsing helper replaces this file.
internal static class ObjectParser
{
    public static CollectionSpec Parse(ReadOnlyMemory<byte> elf, string path) => throw new NotImplementedException();
}
