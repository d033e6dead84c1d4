using System.Diagnostics;
using System.Text.RegularExpressions;
using BpfPS.Core.Btf;
using static BpfPS.Core.Tests.CoRe.CoreTestKit;

namespace BpfPS.Core.Tests.CoRe;

/// <summary>
/// Relocations against this machine's kernel BTF. Expected offsets come from bpftool's raw dump of the same file (an
/// independent decoder); the enum64 value from the uapi header linux/perf_event.h.
/// </summary>
public partial class VmlinuxRelocationTests
{
    private const string VmlinuxPath = "/sys/kernel/btf/vmlinux";

    private static readonly Lazy<BtfSpec?> Vmlinux = new(() => File.Exists(VmlinuxPath) ? BtfSpec.LoadFile(VmlinuxPath) : null);

    [SkippableFact]
    public void TaskStructFieldsBitfieldAndEnum64ResolveLikeBpftoolSays()
    {
        Skip.IfNot(File.Exists(VmlinuxPath), $"{VmlinuxPath} not present: the kernel has no BTF");
        var members = BpftoolStructMembers("task_struct");
        Skip.If(members is null, "bpftool is not installed");

        // A local task_struct with made-up offsets, as a BPF object compiled against other headers would have.
        var l = new BtfBuilder();
        uint i32 = l.AddInt("int", 4, BtfIntEncoding.Signed);
        uint u32 = l.AddInt("unsigned int", 4);
        uint task = l.AddStruct("task_struct", 64, Member("pid", i32, 0), Member("tgid", i32, 32),
            Member("in_execve", u32, 64, 1), Member("no_such_field_here", i32, 96));
        uint perf = l.AddEnum64("perf_callchain_context", 8, false, new BtfEnumValue("PERF_CONTEXT_KERNEL", unchecked((long)0xffff_ffff_ffff_ff80)));
        var local = l.BuildSpec("local.o");
        var vmlinux = Vmlinux.Value!;

        var (pidOffset, _) = members!["pid"];
        var (tgidOffset, _) = members["tgid"];
        var (execveBit, execveWidth) = members["in_execve"];
        Assert.Equal(1, execveWidth);

        var program = new[] { LoadWord(0), LoadWord(4), MoveImmediate(63), LoadWord(12), MoveImmediate(1) }
            .Concat(LoadImm64(0xffff_ffff_ffff_ff80)).ToArray();
        var results = Relocate(program, local, [vmlinux],
            new CoreRelocation(0, task, "0:0", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(1, task, "0:1", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(2, task, "0:2", CoreRelocationKind.FieldLShiftU64),
            new CoreRelocation(3, task, "0:3", CoreRelocationKind.FieldByteOffset),
            new CoreRelocation(4, task, "0:3", CoreRelocationKind.FieldExists),
            new CoreRelocation(5, perf, "0", CoreRelocationKind.EnumValue));

        Assert.Equal(pidOffset / 8, program[0].Offset);
        Assert.Equal(tgidOffset / 8, program[1].Offset);
        // in_execve is an unsigned int bitfield: a 4-byte load at the aligned word holding it.
        int load = execveBit / 32 * 4;
        Assert.Equal(64 - (execveBit + 1 - load * 8), program[2].Immediate);
        Assert.Equal(Poison, program[3]);
        Assert.Contains("task_struct.no_such_field_here", results[3].Description);
        Assert.Equal(0, program[4].Immediate);
        Assert.Equal(0xffff_ffff_ffff_ff80ul, Imm64(program, 5));   // PERF_CONTEXT_KERNEL = (__u64)-128
    }

    /// <summary>Member name to (bit offset, bitfield size) of a struct, from `bpftool btf dump file ... format raw`.</summary>
    private static Dictionary<string, (int BitOffset, int BitfieldSize)>? BpftoolStructMembers(string structName)
    {
        string output;
        try
        {
            var start = new ProcessStartInfo("bpftool", ["btf", "dump", "file", VmlinuxPath, "format", "raw"])
            { RedirectStandardOutput = true, UseShellExecute = false };
            using var process = Process.Start(start)!;
            output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                return null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }

        var members = new Dictionary<string, (int, int)>();
        bool inside = false;
        foreach (var line in output.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("["))
            {
                if (inside)
                    break;
                inside = line.Contains($"STRUCT '{structName}' ", StringComparison.Ordinal);
                continue;
            }
            if (!inside)
                continue;
            var match = MemberLine().Match(line.ToString());
            if (match.Success)
            {
                int width = match.Groups[3].Success ? int.Parse(match.Groups[3].Value) : 0;
                members[match.Groups[1].Value] = (int.Parse(match.Groups[2].Value), width);
            }
        }
        return members;
    }

    [GeneratedRegex(@"^\s+'([^']*)' type_id=\d+ bits_offset=(\d+)(?: bitfield_size=(\d+))?")]
    private static partial Regex MemberLine();
}
