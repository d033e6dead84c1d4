namespace BpfPS.Core.Loading;

/// <summary>The names maps get in the kernel, computed as libbpf 1.1 does so that bpftool shows the same thing.</summary>
public static class MapNaming
{
    /// <summary>BPF_OBJ_NAME_LEN - 1.</summary>
    public const int MaxKernelNameLength = 15;

    /// <summary>libbpf's object name: the file name up to its first '.', at most 15 characters.</summary>
    public static string ObjectName(string path)
    {
        var name = Path.GetFileName(path);
        int dot = name.IndexOf('.');
        if (dot >= 0) name = name[..dot];
        return name.Length > MaxKernelNameLength ? name[..MaxKernelNameLength] : name;
    }

    /// <summary>
    /// The kernel name of a global-data map (libbpf internal_map_name): as much of the object name as fits before a suffix
    /// of at least 7 characters taken from the section name; ".data.custom"-style sections (a second dot) get no prefix.
    /// Characters the kernel refuses become '_'.
    /// </summary>
    public static string InternalMapName(string objectName, string sectionName)
    {
        int suffixLength = Math.Min(Math.Max(7, sectionName.Length), MaxKernelNameLength);
        bool customSection = sectionName.Length > 1 && sectionName.IndexOf('.', 1) >= 0;
        int prefixLength = customSection ? 0 : Math.Min(MaxKernelNameLength - suffixLength, objectName.Length);
        var chars = (objectName[..prefixLength] + sectionName[..Math.Min(suffixLength, sectionName.Length)]).ToCharArray();
        for (int i = 0; i < chars.Length; i++)
            if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] is '_' or '.')) chars[i] = '_';
        return new string(chars);
    }

    /// <summary>The name <paramref name="map"/> gets in the kernel (truncated to 15 characters).</summary>
    public static string KernelName(MapSpec map, string objectPath) =>
        map.IsInternal ? InternalMapName(ObjectName(objectPath), map.SectionName.Length > 0 ? map.SectionName : map.Name) : Truncate(map.Name);

    internal static string Truncate(string name) => name.Length > MaxKernelNameLength ? name[..MaxKernelNameLength] : name;
}
