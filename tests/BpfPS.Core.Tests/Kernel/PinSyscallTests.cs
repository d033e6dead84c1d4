using System.Buffers.Binary;
using BpfPS.Core.Kernel;

namespace BpfPS.Core.Tests.Kernel;

public class PinSyscallTests
{
    [SkippableFact]
    public void PinnedMapOutlivesItsFdAndIsTheSameObject()
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        try
        {
            Assert.True(BpfFileSystem.IsBpfFs(dir));
            var path = Path.Combine(dir, "counter");
            uint id;
            using (var map = BpfSyscall.MapCreate(BpfMapType.Array, 4, 4, 1, name: "pinned"))
            {
                BpfSyscall.MapUpdate(map, new byte[4], BitConverter.GetBytes(99u));
                BpfSyscall.ObjectPin(map, path);
                id = BpfSyscall.GetMapInfo(map).Id;
            }
            Assert.True(File.Exists(path));

            using var reopened = BpfSyscall.ObjectGet(path);
            Assert.Equal(id, BpfSyscall.GetMapInfo(reopened).Id);
            var value = new byte[4];
            Assert.True(BpfSyscall.MapLookup(reopened, new byte[4], value));
            Assert.Equal(99u, BinaryPrimitives.ReadUInt32LittleEndian(value));

            // Pinning twice at one path is EEXIST; getting a missing path is ENOENT (TryObjectGet: null).
            Assert.Equal(Errno.EEXIST, Assert.Throws<BpfSyscallException>(() => BpfSyscall.ObjectPin(reopened, path)).ErrorNumber);
            Assert.Null(BpfSyscall.TryObjectGet(Path.Combine(dir, "missing")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [SkippableFact]
    public void PinnedProgramCanBeReopenedAndRun()
    {
        var dir = KernelTestSupport.RequireBpfFsDirectory();
        try
        {
            var path = Path.Combine(dir, "prog");
            using (var prog = KernelTestSupport.LoadSocketFilter(KernelTestSupport.ReturnConstant(5)))
                BpfSyscall.ObjectPin(prog, path);
            using var again = BpfSyscall.ObjectGet(path);
            Assert.Equal(5u, BpfSyscall.ProgramTestRun(again, new byte[64]).ReturnValue);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void ProcIsNotABpfFs() => Assert.False(BpfFileSystem.IsBpfFs("/proc"));
}
