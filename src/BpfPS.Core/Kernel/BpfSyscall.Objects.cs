using System.Collections.Immutable;
using System.Text;
using BpfPS.Core.Btf;

namespace BpfPS.Core.Kernel;

// Object commands: BTF load, pin/get, id iteration, fd by id, info by fd, stats.
public static unsafe partial class BpfSyscall
{
    /// <summary>BPF_F_RDONLY / BPF_F_WRONLY for OBJ_GET and *_GET_FD_BY_ID.</summary>
    public const uint FileReadOnly = 1 << 3, FileWriteOnly = 1 << 4;

    /// <summary>
    /// BPF_BTF_LOAD. With <paramref name="logLevel"/> 0 a failure is retried with log level 1 so the exception explains it.
    /// </summary>
    public static BpfFd BtfLoad(ReadOnlySpan<byte> rawBtf, uint logLevel = 0, uint logSize = DefaultLogSize)
    {
        uint size = logLevel != 0 ? Math.Max(logSize, 1024) : 0;
        bool retriedForLog = false;
        fixed (byte* raw = rawBtf)
        {
            while (true)
            {
                byte[]? log = logLevel != 0 ? new byte[size] : null;
                var attr = new BtfLoadAttr { Btf = Address(raw), BtfSize = (uint)rawBtf.Length, BtfLogLevel = logLevel };
                int fd, errno;
                fixed (byte* l = log)
                {
                    if (log is not null) { attr.BtfLogBuf = Address(l); attr.BtfLogSize = (uint)log.Length; }
                    fd = Invoke(BpfCommand.BtfLoad, ref attr, out errno);
                }
                if (fd >= 0) return Own(fd);
                if (logLevel == 0 && !retriedForLog)
                {
                    retriedForLog = true;
                    logLevel = 1;
                    size = Math.Max(logSize, 1024);
                    continue;
                }
                if (logLevel != 0 && errno == Errno.ENOSPC && size < MaxLogSize)
                {
                    size = NextLogSize(size, attr.BtfLogTrueSize);
                    continue;
                }
                throw new BpfSyscallException(BpfCommand.BtfLoad, errno, null, log is null ? null : DecodeLog(log));
            }
        }
    }

    /// <summary>BPF_OBJ_PIN: makes <paramref name="fd"/> outlive this process at <paramref name="path"/> (on a bpffs).</summary>
    public static void ObjectPin(BpfFd fd, string path)
    {
        using var lease = fd.Lease();
        fixed (byte* p = NulTerminated(path))
        {
            var attr = new ObjPathAttr { PathName = Address(p), BpfFd = (uint)lease.Value };
            InvokeChecked(BpfCommand.ObjPin, ref attr, path);
        }
    }

    /// <summary>BPF_OBJ_GET: opens the object pinned at <paramref name="path"/>.</summary>
    public static BpfFd ObjectGet(string path, uint fileFlags = 0)
    {
        fixed (byte* p = NulTerminated(path))
        {
            var attr = new ObjPathAttr { PathName = Address(p), FileFlags = fileFlags };
            return Own(InvokeChecked(BpfCommand.ObjGet, ref attr, path));
        }
    }

    /// <summary>BPF_OBJ_GET without throwing on ENOENT: null when nothing is pinned at <paramref name="path"/>.</summary>
    public static BpfFd? TryObjectGet(string path, uint fileFlags = 0)
    {
        fixed (byte* p = NulTerminated(path))
        {
            var attr = new ObjPathAttr { PathName = Address(p), FileFlags = fileFlags };
            int fd = Invoke(BpfCommand.ObjGet, ref attr, out int errno);
            if (fd >= 0) return Own(fd);
            if (errno == Errno.ENOENT) return null;
            throw new BpfSyscallException(BpfCommand.ObjGet, errno, path);
        }
    }

    /// <summary>Ids of every loaded program, in increasing order (BPF_PROG_GET_NEXT_ID).</summary>
    public static IEnumerable<uint> ProgramIds() => Ids(BpfCommand.ProgGetNextId);
    /// <summary>Ids of every map (BPF_MAP_GET_NEXT_ID).</summary>
    public static IEnumerable<uint> MapIds() => Ids(BpfCommand.MapGetNextId);
    /// <summary>Ids of every BTF object, vmlinux and modules included (BPF_BTF_GET_NEXT_ID).</summary>
    public static IEnumerable<uint> BtfIds() => Ids(BpfCommand.BtfGetNextId);

    /// <summary>The id after <paramref name="startId"/> for a *_GET_NEXT_ID command, or null at the end.</summary>
    public static uint? NextId(BpfCommand command, uint startId)
    {
        if (command is not (BpfCommand.ProgGetNextId or BpfCommand.MapGetNextId or BpfCommand.BtfGetNextId or BpfCommand.LinkGetNextId))
            throw new ArgumentOutOfRangeException(nameof(command), command, "not a *_GET_NEXT_ID command");
        var attr = new GetIdAttr { StartId = startId };
        if (Invoke(command, ref attr, out int errno) >= 0) return attr.NextId;
        if (errno == Errno.ENOENT) return null;
        throw new BpfSyscallException(command, errno);
    }

    private static IEnumerable<uint> Ids(BpfCommand command)
    {
        uint id = 0;
        while (NextId(command, id) is uint next)
        {
            yield return next;
            id = next;
        }
    }

    public static BpfFd ProgramGetFdById(uint id) => FdById(BpfCommand.ProgGetFdById, id, 0);
    public static BpfFd MapGetFdById(uint id, uint openFlags = 0) => FdById(BpfCommand.MapGetFdById, id, openFlags);
    public static BpfFd BtfGetFdById(uint id) => FdById(BpfCommand.BtfGetFdById, id, 0);

    private static BpfFd FdById(BpfCommand command, uint id, uint openFlags)
    {
        var attr = new GetIdAttr { StartId = id, OpenFlags = openFlags };
        return Own(InvokeChecked(command, ref attr, $"id {id}"));
    }

    /// <summary>A program's id and tag in one BPF_OBJ_GET_INFO_BY_FD call (what a loader needs, without the rest).</summary>
    public static (uint Id, string Tag) GetProgramIdAndTag(BpfFd program)
    {
        using var lease = program.Lease();
        var info = new ProgInfoWire();
        GetInfo(lease.Value, &info, sizeof(ProgInfoWire));
        return (info.Id, Convert.ToHexStringLower(new ReadOnlySpan<byte>(info.Tag, 8)));
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a program. Map ids always; the translated instructions only when asked.</summary>
    public static BpfProgramInfo GetProgramInfo(BpfFd program, bool includeXlatedInstructions = false)
    {
        using var lease = program.Lease();
        var info = new ProgInfoWire();
        GetInfo(lease.Value, &info, sizeof(ProgInfoWire));

        uint mapCount = info.NrMapIds;
        uint xlatedLength = includeXlatedInstructions ? info.XlatedProgLen : 0;
        var mapIds = new uint[mapCount];
        var xlated = includeXlatedInstructions ? new byte[xlatedLength] : null;
        if (mapCount > 0 || xlatedLength > 0)
        {
            // Second pass with buffers; the kernel fills at most the counts we state.
            fixed (uint* ids = mapIds)
            fixed (byte* x = xlated)
            {
                info = new ProgInfoWire { NrMapIds = mapCount, MapIds = Address(ids), XlatedProgLen = xlatedLength, XlatedProgInsns = xlatedLength > 0 ? Address(x) : 0 };
                GetInfo(lease.Value, &info, sizeof(ProgInfoWire));
            }
            mapCount = Math.Min(mapCount, info.NrMapIds);
        }

        return new BpfProgramInfo
        {
            Type = (BpfProgramType)info.Type,
            Id = info.Id,
            Tag = Convert.ToHexStringLower(new ReadOnlySpan<byte>(info.Tag, 8)),
            Name = ReadObjectName(info.Name),
            JitedLength = info.JitedProgLen,
            XlatedLength = info.XlatedProgLen,
            LoadTime = info.LoadTime,
            CreatedByUid = info.CreatedByUid,
            MapIds = ImmutableArray.Create(mapIds, 0, (int)mapCount),
            GplCompatible = (info.GplCompatibleBits & 1) != 0,
            BtfId = info.BtfId,
            RunTimeNanoseconds = info.RunTimeNs,
            RunCount = info.RunCnt,
            RecursionMisses = info.RecursionMisses,
            VerifiedInstructions = info.VerifiedInsns,
            AttachBtfObjectId = info.AttachBtfObjId,
            AttachBtfId = info.AttachBtfId,
            XlatedInstructions = xlated is null ? null : xlated.AsSpan(0, (int)Math.Min(xlatedLength, info.XlatedProgLen)).ToArray(),
        };
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a map.</summary>
    public static BpfMapInfo GetMapInfo(BpfFd map)
    {
        using var lease = map.Lease();
        var info = new MapInfoWire();
        GetInfo(lease.Value, &info, sizeof(MapInfoWire));
        return new BpfMapInfo
        {
            Type = (BpfMapType)info.Type,
            Id = info.Id,
            KeySize = info.KeySize,
            ValueSize = info.ValueSize,
            MaxEntries = info.MaxEntries,
            Flags = info.MapFlags,
            Name = ReadObjectName(info.Name),
            IfIndex = info.IfIndex,
            BtfVmlinuxValueTypeId = info.BtfVmlinuxValueTypeId,
            BtfId = info.BtfId,
            BtfKeyTypeId = info.BtfKeyTypeId,
            BtfValueTypeId = info.BtfValueTypeId,
            MapExtra = info.MapExtra,
        };
    }

    /// <summary>BPF_OBJ_GET_INFO_BY_FD for a BTF object (its id, size, and module name for kernel BTF).</summary>
    public static BpfBtfInfo GetBtfInfo(BpfFd btf)
    {
        using var lease = btf.Lease();
        byte* name = stackalloc byte[64];
        new Span<byte>(name, 64).Clear();
        var info = new BtfInfoWire { Name = Address(name), NameLen = 64 };
        GetInfo(lease.Value, &info, sizeof(BtfInfoWire));
        var nameSpan = new ReadOnlySpan<byte>(name, 64);
        int end = nameSpan.IndexOf((byte)0);
        return new BpfBtfInfo(info.Id, info.BtfSize, Encoding.UTF8.GetString(end < 0 ? nameSpan : nameSpan[..end]), info.KernelBtf != 0);
    }

    private static void GetInfo(int fd, void* info, int length)
    {
        var attr = new InfoAttr { BpfFd = (uint)fd, InfoLen = (uint)length, Info = Address(info) };
        InvokeChecked(BpfCommand.ObjGetInfoByFd, ref attr);
    }

    /// <summary>BPF_ENABLE_STATS: run_time_ns/run_cnt are collected while the returned descriptor stays open.</summary>
    public static BpfFd EnableStats(BpfStatsType type = BpfStatsType.RunTime)
    {
        var attr = new EnableStatsAttr { Type = (uint)type };
        return Own(InvokeChecked(BpfCommand.EnableStats, ref attr));
    }
}
