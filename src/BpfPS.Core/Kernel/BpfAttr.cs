using System.Runtime.InteropServices;

namespace BpfPS.Core.Kernel;

// Wire layouts of union bpf_attr, one struct per command group, each as large as the whole union in the 6.1 uapi
// header (144 bytes) so the kernel always sees zeroes in fields we don't set. Offsets follow /usr/include/linux/bpf.h
// (checked against the C compiler by tests/BpfPS.Core.Tests/Kernel/AttrLayoutTests.cs).

internal static class BpfAttr
{
    /// <summary>sizeof(union bpf_attr) in the 6.1 uapi header.</summary>
    public const int Size = 144;
    /// <summary>BPF_OBJ_NAME_LEN: 15 characters and a NUL.</summary>
    public const int ObjectNameLength = 16;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal unsafe struct MapCreateAttr
{
    [FieldOffset(0)] public uint MapType;
    [FieldOffset(4)] public uint KeySize;
    [FieldOffset(8)] public uint ValueSize;
    [FieldOffset(12)] public uint MaxEntries;
    [FieldOffset(16)] public uint MapFlags;
    [FieldOffset(20)] public uint InnerMapFd;
    [FieldOffset(24)] public uint NumaNode;
    [FieldOffset(28)] public fixed byte MapName[BpfAttr.ObjectNameLength];
    [FieldOffset(44)] public uint MapIfIndex;
    [FieldOffset(48)] public uint BtfFd;
    [FieldOffset(52)] public uint BtfKeyTypeId;
    [FieldOffset(56)] public uint BtfValueTypeId;
    [FieldOffset(60)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(64)] public ulong MapExtra;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct MapElemAttr
{
    [FieldOffset(0)] public uint MapFd;
    [FieldOffset(8)] public ulong Key;
    /// <summary>value, or next_key for BPF_MAP_GET_NEXT_KEY.</summary>
    [FieldOffset(16)] public ulong ValueOrNextKey;
    [FieldOffset(24)] public ulong Flags;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct MapBatchAttr
{
    [FieldOffset(0)] public ulong InBatch;
    [FieldOffset(8)] public ulong OutBatch;
    [FieldOffset(16)] public ulong Keys;
    [FieldOffset(24)] public ulong Values;
    [FieldOffset(32)] public uint Count;
    [FieldOffset(36)] public uint MapFd;
    [FieldOffset(40)] public ulong ElemFlags;
    [FieldOffset(48)] public ulong Flags;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal unsafe struct ProgLoadAttr
{
    [FieldOffset(0)] public uint ProgType;
    [FieldOffset(4)] public uint InsnCount;
    [FieldOffset(8)] public ulong Insns;
    [FieldOffset(16)] public ulong License;
    [FieldOffset(24)] public uint LogLevel;
    [FieldOffset(28)] public uint LogSize;
    [FieldOffset(32)] public ulong LogBuf;
    [FieldOffset(40)] public uint KernVersion;
    [FieldOffset(44)] public uint ProgFlags;
    [FieldOffset(48)] public fixed byte ProgName[BpfAttr.ObjectNameLength];
    [FieldOffset(64)] public uint ProgIfIndex;
    [FieldOffset(68)] public uint ExpectedAttachType;
    [FieldOffset(72)] public uint ProgBtfFd;
    [FieldOffset(76)] public uint FuncInfoRecSize;
    [FieldOffset(80)] public ulong FuncInfo;
    [FieldOffset(88)] public uint FuncInfoCount;
    [FieldOffset(92)] public uint LineInfoRecSize;
    [FieldOffset(96)] public ulong LineInfo;
    [FieldOffset(104)] public uint LineInfoCount;
    [FieldOffset(108)] public uint AttachBtfId;
    /// <summary>attach_btf_obj_fd, or attach_prog_fd (same slot).</summary>
    [FieldOffset(112)] public uint AttachBtfObjFd;
    [FieldOffset(116)] public uint CoreReloCount;
    [FieldOffset(120)] public ulong FdArray;
    [FieldOffset(128)] public ulong CoreRelos;
    [FieldOffset(136)] public uint CoreReloRecSize;
    /// <summary>Written by kernels since 6.4: the log size the verifier needed (0 on older kernels).</summary>
    [FieldOffset(140)] public uint LogTrueSize;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct ObjPathAttr
{
    [FieldOffset(0)] public ulong PathName;
    [FieldOffset(8)] public uint BpfFd;
    [FieldOffset(12)] public uint FileFlags;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct TestRunAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint Retval;
    [FieldOffset(8)] public uint DataSizeIn;
    [FieldOffset(12)] public uint DataSizeOut;
    [FieldOffset(16)] public ulong DataIn;
    [FieldOffset(24)] public ulong DataOut;
    [FieldOffset(32)] public uint Repeat;
    [FieldOffset(36)] public uint Duration;
    [FieldOffset(40)] public uint CtxSizeIn;
    [FieldOffset(44)] public uint CtxSizeOut;
    [FieldOffset(48)] public ulong CtxIn;
    [FieldOffset(56)] public ulong CtxOut;
    [FieldOffset(64)] public uint Flags;
    [FieldOffset(68)] public uint Cpu;
    [FieldOffset(72)] public uint BatchSize;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct GetIdAttr
{
    /// <summary>start_id for *_GET_NEXT_ID, or prog_id/map_id/btf_id for *_GET_FD_BY_ID.</summary>
    [FieldOffset(0)] public uint StartId;
    [FieldOffset(4)] public uint NextId;
    [FieldOffset(8)] public uint OpenFlags;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct InfoAttr
{
    [FieldOffset(0)] public uint BpfFd;
    [FieldOffset(4)] public uint InfoLen;
    [FieldOffset(8)] public ulong Info;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct BtfLoadAttr
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public ulong BtfLogBuf;
    [FieldOffset(16)] public uint BtfSize;
    [FieldOffset(20)] public uint BtfLogSize;
    [FieldOffset(24)] public uint BtfLogLevel;
    /// <summary>Written by kernels since 6.4: the log size needed.</summary>
    [FieldOffset(28)] public uint BtfLogTrueSize;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct EnableStatsAttr
{
    [FieldOffset(0)] public uint Type;
}

[StructLayout(LayoutKind.Explicit, Size = BpfAttr.Size)]
internal struct ProgBindMapAttr
{
    [FieldOffset(0)] public uint ProgFd;
    [FieldOffset(4)] public uint MapFd;
    [FieldOffset(8)] public uint Flags;
}

/// <summary>struct bpf_prog_info (6.1 uapi, 232 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 232)]
internal unsafe struct ProgInfoWire
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public fixed byte Tag[8];
    [FieldOffset(16)] public uint JitedProgLen;
    [FieldOffset(20)] public uint XlatedProgLen;
    [FieldOffset(24)] public ulong JitedProgInsns;
    [FieldOffset(32)] public ulong XlatedProgInsns;
    [FieldOffset(40)] public ulong LoadTime;
    [FieldOffset(48)] public uint CreatedByUid;
    [FieldOffset(52)] public uint NrMapIds;
    [FieldOffset(56)] public ulong MapIds;
    [FieldOffset(64)] public fixed byte Name[BpfAttr.ObjectNameLength];
    [FieldOffset(80)] public uint IfIndex;
    /// <summary>Bit 0: gpl_compatible.</summary>
    [FieldOffset(84)] public uint GplCompatibleBits;
    [FieldOffset(88)] public ulong NetnsDev;
    [FieldOffset(96)] public ulong NetnsIno;
    [FieldOffset(104)] public uint NrJitedKsyms;
    [FieldOffset(108)] public uint NrJitedFuncLens;
    [FieldOffset(112)] public ulong JitedKsyms;
    [FieldOffset(120)] public ulong JitedFuncLens;
    [FieldOffset(128)] public uint BtfId;
    [FieldOffset(132)] public uint FuncInfoRecSize;
    [FieldOffset(136)] public ulong FuncInfo;
    [FieldOffset(144)] public uint NrFuncInfo;
    [FieldOffset(148)] public uint NrLineInfo;
    [FieldOffset(152)] public ulong LineInfo;
    [FieldOffset(160)] public ulong JitedLineInfo;
    [FieldOffset(168)] public uint NrJitedLineInfo;
    [FieldOffset(172)] public uint LineInfoRecSize;
    [FieldOffset(176)] public uint JitedLineInfoRecSize;
    [FieldOffset(180)] public uint NrProgTags;
    [FieldOffset(184)] public ulong ProgTags;
    [FieldOffset(192)] public ulong RunTimeNs;
    [FieldOffset(200)] public ulong RunCnt;
    [FieldOffset(208)] public ulong RecursionMisses;
    [FieldOffset(216)] public uint VerifiedInsns;
    [FieldOffset(220)] public uint AttachBtfObjId;
    [FieldOffset(224)] public uint AttachBtfId;
}

/// <summary>struct bpf_map_info (6.1 uapi, 88 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 88)]
internal unsafe struct MapInfoWire
{
    [FieldOffset(0)] public uint Type;
    [FieldOffset(4)] public uint Id;
    [FieldOffset(8)] public uint KeySize;
    [FieldOffset(12)] public uint ValueSize;
    [FieldOffset(16)] public uint MaxEntries;
    [FieldOffset(20)] public uint MapFlags;
    [FieldOffset(24)] public fixed byte Name[BpfAttr.ObjectNameLength];
    [FieldOffset(40)] public uint IfIndex;
    [FieldOffset(44)] public uint BtfVmlinuxValueTypeId;
    [FieldOffset(48)] public ulong NetnsDev;
    [FieldOffset(56)] public ulong NetnsIno;
    [FieldOffset(64)] public uint BtfId;
    [FieldOffset(68)] public uint BtfKeyTypeId;
    [FieldOffset(72)] public uint BtfValueTypeId;
    [FieldOffset(80)] public ulong MapExtra;
}

/// <summary>struct bpf_btf_info (6.1 uapi, 32 bytes).</summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
internal struct BtfInfoWire
{
    [FieldOffset(0)] public ulong Btf;
    [FieldOffset(8)] public uint BtfSize;
    [FieldOffset(12)] public uint Id;
    [FieldOffset(16)] public ulong Name;
    [FieldOffset(24)] public uint NameLen;
    [FieldOffset(28)] public uint KernelBtf;
}
