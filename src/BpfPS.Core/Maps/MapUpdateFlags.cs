namespace BpfPS.Core.Maps;

/// <summary>How an update treats an existing key (BPF_ANY / BPF_NOEXIST / BPF_EXIST, optionally BPF_F_LOCK).</summary>
[Flags]
public enum MapUpdateFlags : ulong
{
    /// <summary>Create the entry or replace it.</summary>
    Any = 0,
    /// <summary>Only create: fails with EEXIST when the key is present.</summary>
    NoExist = 1,
    /// <summary>Only replace: fails with ENOENT when the key is absent.</summary>
    Exist = 2,
    /// <summary>Take the value's bpf_spin_lock while writing (values that contain one).</summary>
    Lock = 4,
}
