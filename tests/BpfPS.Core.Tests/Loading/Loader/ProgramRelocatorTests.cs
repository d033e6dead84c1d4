using System.Collections.Immutable;
using BpfPS.Core.Asm;
using BpfPS.Core.Kernel;
using BpfPS.Core.Loading;

namespace BpfPS.Core.Tests.Loading.Loader;

/// <summary>
/// Relocation writes the uapi encodings (bpf.h): ld_imm64 src_reg 1 = BPF_PSEUDO_MAP_FD with imm = fd; src_reg 2 =
/// BPF_PSEUDO_MAP_VALUE with imm = fd and the second slot's imm = offset; src_reg 3 = BPF_PSEUDO_BTF_ID; call src_reg 2 =
/// BPF_PSEUDO_KFUNC_CALL with imm = BTF id and off = fd_array index.
/// </summary>
public class ProgramRelocatorTests
{
    private static BpfInstruction LdImm64(byte dst, int imm) => new(0x18, dst, 0, 0, imm);
    private static BpfInstruction Second(int imm = 0) => new(0, 0, 0, 0, imm);

    private static CollectionSpec Spec(params InstructionReference[] references)
    {
        var program = new ProgramSpec
        {
            Name = "prog",
            SectionName = "socket",
            Type = BpfProgramType.SocketFilter,
            Instructions =
            [
                LdImm64(1, 0), Second(),                // 0: map fd
                LdImm64(2, 5), Second(),                // 2: global variable (clang's addend 5)
                new BpfInstruction(0x85, 0, 0, 0, -1),  // 4: kfunc call
                LdImm64(3, 0), Second(),                // 5: typeless ksym
                new BpfInstruction(0xb7, 0, 0, 0, 0),   // 7: r0 = 0
                new BpfInstruction(0x95, 0, 0, 0, 0),   // 8: exit
            ],
            References = [.. references],
        };
        return new CollectionSpec
        {
            Path = "relo.o",
            Maps = new Dictionary<string, MapSpec>
            {
                ["first"] = new() { Name = "first" },
                ["counts"] = new() { Name = "counts" },
                [".data"] = new() { Name = ".data", SectionName = ".data", IsInternal = true },
            },
            Programs = new Dictionary<string, ProgramSpec> { ["prog"] = program },
        };
    }

    private static readonly InstructionReference[] AllReferences =
    [
        new(0, ReferenceKind.MapFd, "counts", 0),
        new(2, ReferenceKind.MapValue, ".data", 12),
        new(4, ReferenceKind.KsymFunction, "bpf_some_kfunc", 0),
        new(5, ReferenceKind.KsymVariable, "some_symbol", 0),
    ];

    private static RelocationEnvironment Environment(bool kfuncResolved = true) => new()
    {
        MapFd = name => name switch { "counts" => 42, ".data" => 43, _ => throw new InvalidOperationException(name) },
        Ksyms = new Dictionary<string, ResolvedKsym>
        {
            ["bpf_some_kfunc"] = new("bpf_some_kfunc", KsymKind.Function, kfuncResolved, kfuncResolved ? 1234u : 0, -1, 0),
            ["some_symbol"] = new("some_symbol", KsymKind.TypelessVariable, true, 0, -1, 0xffffffff81234567),
        },
    };

    [Fact]
    public void MapsKsymsAndKfuncsAreWrittenInUapiEncoding()
    {
        var spec = Spec(AllReferences);
        var program = spec.Programs["prog"];
        var result = ProgramRelocator.Relocate(spec, program, Environment());
        var insns = result.Instructions;

        Assert.Equal(BpfPseudo.MapFd, insns[0].Src);
        Assert.Equal(42, insns[0].Immediate);
        Assert.Equal(0, insns[1].Immediate);
        Assert.Equal(1, insns[0].Dst);

        Assert.Equal(BpfPseudo.MapValue, insns[2].Src);
        Assert.Equal(43, insns[2].Immediate);
        Assert.Equal(12, insns[3].Immediate);

        Assert.Equal(BpfPseudo.KfuncCall, insns[4].Src);
        Assert.Equal(1234, insns[4].Immediate);
        Assert.Equal(0, insns[4].Offset);

        Assert.Equal(0, insns[5].Src); // typeless ksyms are plain 64-bit constants
        Assert.Equal(unchecked((int)0x81234567), insns[5].Immediate);
        Assert.Equal(unchecked((int)0xffffffff), insns[6].Immediate);

        Assert.Equal(program.Instructions[7..], insns[7..]);
        Assert.Equal(0, program.Instructions[0].Immediate); // the spec is never modified
        Assert.Equal(5, program.Instructions[2].Immediate);
    }

    [Fact]
    public void UnresolvedWeakKfuncBecomesCallZero()
    {
        var spec = Spec(AllReferences);
        var insns = ProgramRelocator.Relocate(spec, spec.Programs["prog"], Environment(kfuncResolved: false)).Instructions;
        Assert.Equal(BpfPseudo.KfuncCall, insns[4].Src);
        Assert.Equal(0, insns[4].Immediate);
        Assert.Equal(0, insns[4].Offset);
    }

    [Fact]
    public void WithoutFdsMapsGetTheirIndexAsPlaceholder()
    {
        var spec = Spec(AllReferences[0], AllReferences[1]);
        var insns = ProgramRelocator.Relocate(spec, spec.Programs["prog"], new RelocationEnvironment()).Instructions;
        Assert.Equal(1, insns[0].Immediate); // "counts" is the second map
        Assert.Equal(2, insns[2].Immediate); // ".data" the third
        Assert.Equal(12, insns[3].Immediate);
    }

    [Fact]
    public void ReferenceToAnUnknownMapNamesProgramAndMap()
    {
        var spec = Spec(new InstructionReference(0, ReferenceKind.MapFd, "nosuch", 0));
        var e = Assert.Throws<BpfLoadException>(() => ProgramRelocator.Relocate(spec, spec.Programs["prog"], Environment()));
        Assert.Contains("nosuch", e.Message);
        Assert.Equal("program 'prog'", e.ObjectName);
        Assert.Equal("relo.o", e.ObjectPath);
    }

    [Theory]
    [InlineData(7)]   // not a ld_imm64
    [InlineData(8)]   // last instruction: no second slot
    [InlineData(-1)]
    [InlineData(100)]
    public void ReferenceToTheWrongInstructionIsRefused(int index)
    {
        var spec = Spec(new InstructionReference(index, ReferenceKind.MapFd, "counts", 0));
        Assert.Throws<BpfLoadException>(() => ProgramRelocator.Relocate(spec, spec.Programs["prog"], Environment()));
    }

    [Fact]
    public void KfuncReferenceMustBeACall()
    {
        var spec = Spec(new InstructionReference(0, ReferenceKind.KsymFunction, "bpf_some_kfunc", 0));
        Assert.Contains("is not a call", Assert.Throws<BpfLoadException>(() => ProgramRelocator.Relocate(spec, spec.Programs["prog"], Environment())).Message);
    }
}
