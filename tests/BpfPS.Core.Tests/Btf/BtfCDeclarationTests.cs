using BpfPS.Core.Btf;

namespace BpfPS.Core.Tests.Btf;

public class BtfCDeclarationTests
{
    private static string Lines(params string[] lines) => string.Join("\n", lines);

    [Fact]
    public void StructWithNestedAnonymousUnionBitfieldsArraysAndFunctionPointers()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint u32 = b.Int("unsigned int", 4);
        uint ch = b.Int("char", 1, BtfIntEncoding.Char);
        uint cch = b.Const(ch);
        uint str = b.Ptr(cch);
        uint comm = b.Array(ch, i32, 16);
        uint fwd = b.Fwd("sk_buff");
        uint skb = b.Ptr(fwd);
        uint handler = b.Ptr(b.FuncProto(i32, ("skb", skb), ("len", u32)));
        uint anon = b.Union("", 8, ("raw", b.Int("long unsigned int", 8), 0, 0), ("name", str, 0, 0));
        uint matrix = b.Array(b.Array(i32, i32, 3), i32, 2);
        uint task = b.Struct("task", 64,
            ("pid", i32, 0, 0), ("flags", u32, 32, 3), ("state", u32, 35, 29),
            ("", anon, 64, 0), ("comm", comm, 128, 0), ("handler", handler, 256, 0), ("m", matrix, 320, 0));
        var spec = b.Parse();

        Assert.Equal(Lines(
            "struct task {",
            "\tint pid;",
            "\tunsigned int flags: 3;",
            "\tunsigned int state: 29;",
            "\tunion {",
            "\t\tlong unsigned int raw;",
            "\t\tconst char *name;",
            "\t};",
            "\tchar comm[16];",
            "\tint (*handler)(struct sk_buff *skb, unsigned int len);",
            "\tint m[2][3];",
            "};"), BtfCDeclaration.Format(spec, task));
        Assert.Equal(0, spec.DecodedTypeCount);
        Assert.Equal("const char *comm", BtfCDeclaration.Declare(spec, str, "comm"));
        Assert.Equal("int (*)(struct sk_buff *skb, unsigned int len)", BtfCDeclaration.Declare(spec, handler));
        Assert.Equal("char [16]", BtfCDeclaration.Declare(spec, comm));
        Assert.Equal("int", BtfCDeclaration.Format(spec, i32));
    }

    [Fact]
    public void PaddingAndPacking()
    {
        var b = new BtfBlob();
        uint ch = b.Int("char", 1);
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint i64 = b.Int("long int", 8, BtfIntEncoding.Signed);
        // A cache-line aligned member after a char: the hole must be spelled out.
        uint aligned = b.Struct("aligned", 128, ("c", ch, 0, 0), ("x", i64, 512, 0));
        // A long at offset 1: only packing gets it there.
        uint packed = b.Struct("packed", 9, ("c", ch, 0, 0), ("x", i64, 8, 0));
        // Bitfields with a hole between them.
        uint holes = b.Struct("holes", 8, ("a", i32, 0, 3), ("b", i32, 40, 4));
        var spec = b.Parse();

        Assert.Equal(Lines(
            "struct aligned {",
            "\tchar c;",
            "\tchar: 8;",
            "\tshort: 16;",
            "\tint: 32;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong int x;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "\tlong: 64;",
            "};"), BtfCDeclaration.Format(spec, aligned));
        Assert.Equal(Lines("struct packed {", "\tchar c;", "\tlong int x;", "} __attribute__((packed));"), BtfCDeclaration.Format(spec, packed));
        Assert.Equal(Lines("struct holes {", "\tint a: 3;", "\tchar: 5;", "\tchar: 8;", "\tshort: 16;", "\tchar: 8;", "\tint b: 4;", "};"),
            BtfCDeclaration.Format(spec, holes));
    }

    [Fact]
    public void EnumsWithSignednessAndSizes()
    {
        var b = new BtfBlob();
        uint signed = b.Enum("rpm_status", 4, signed: true, ("RPM_INVALID", -1), ("RPM_ACTIVE", 0));
        uint unsigned = b.Enum("init_ns_ino", 4, signed: false, ("IPC_NS_INIT_INO", 0xEFFFFFFF));
        uint small = b.Enum("rw_hint", 1, signed: false, ("WRITE_LIFE_NONE", 1));
        uint wide = b.Enum64("flags64", 8, signed: false, ("BIG", unchecked((long)0x8000_0000_0000_0000UL)));
        uint narrow64 = b.Enum64("small64", 8, signed: false, ("ONE", 1));
        uint empty = b.Enum("later", 4, signed: false);
        var spec = b.Parse();

        Assert.Equal(Lines("enum rpm_status {", "\tRPM_INVALID = -1,", "\tRPM_ACTIVE = 0,", "};"), BtfCDeclaration.Format(spec, signed));
        Assert.Equal(Lines("enum init_ns_ino {", "\tIPC_NS_INIT_INO = 4026531839,", "};"), BtfCDeclaration.Format(spec, unsigned));
        Assert.Equal(Lines("enum rw_hint {", "\tWRITE_LIFE_NONE = 1,", "} __attribute__((mode(byte)));"), BtfCDeclaration.Format(spec, small));
        Assert.Equal(Lines("enum flags64 {", "\tBIG = 9223372036854775808ULL,", "};"), BtfCDeclaration.Format(spec, wide));
        Assert.Equal(Lines("enum small64 {", "\tONE = 1ULL,", "} __attribute__((mode(word)));"), BtfCDeclaration.Format(spec, narrow64));
        Assert.Equal("enum later;", BtfCDeclaration.Format(spec, empty));
    }

    [Fact]
    public void TypedefsFunctionsVariablesAndTags()
    {
        var b = new BtfBlob();
        uint i32 = b.Int("int", 4, BtfIntEncoding.Signed);
        uint ch = b.Int("char", 1);
        uint fmt = b.Ptr(b.Const(ch));
        uint proto = b.FuncProto(i32, ("fmt", fmt), ("", 0));
        uint printk = b.Func("_printk", proto, BtfLinkage.Global);
        uint helper = b.Func("helper", b.FuncProto(0), BtfLinkage.Static);
        uint noArgs = b.FuncProto(i32, ("", 0));
        uint fnType = b.Typedef("printk_fn", proto);
        uint fnPtr = b.Typedef("printk_ptr", b.Ptr(proto));
        uint anonStruct = b.Struct("", 4, ("counter", i32, 0, 0));
        uint atomic = b.Typedef("atomic_t", anonStruct);
        uint volatileInt = b.Volatile(i32);
        uint constPtr = b.Const(b.Ptr(volatileInt));
        uint jiffies = b.Var("jiffies", constPtr, BtfLinkage.Extern);
        uint counter = b.Var("counter", atomic, BtfLinkage.Global);
        uint sec = b.Datasec(".data", 8, (counter, 4, 4));
        uint tag = b.DeclTag("bpf_kfunc", printk, -1);
        uint user = b.Ptr(b.TypeTag("user", ch));
        uint fwdUnion = b.Fwd("maybe", union: true);
        var spec = b.Parse();

        Assert.Equal("int _printk(const char *fmt, ...);", BtfCDeclaration.Format(spec, printk));
        Assert.Equal("static void helper(void);", BtfCDeclaration.Format(spec, helper));
        Assert.Equal("int ()", BtfCDeclaration.Format(spec, noArgs));
        Assert.Equal("typedef int printk_fn(const char *fmt, ...);", BtfCDeclaration.Format(spec, fnType));
        Assert.Equal("typedef int (*printk_ptr)(const char *fmt, ...);", BtfCDeclaration.Format(spec, fnPtr));
        Assert.Equal(Lines("typedef struct {", "\tint counter;", "} atomic_t;"), BtfCDeclaration.Format(spec, atomic));
        Assert.Equal("extern volatile int *const jiffies;", BtfCDeclaration.Format(spec, jiffies));
        Assert.Equal("atomic_t counter;", BtfCDeclaration.Format(spec, counter));
        Assert.Equal(Lines("/* section .data, 8 bytes */", "/* offset 4, size 4 */ atomic_t counter;"), BtfCDeclaration.Format(spec, sec));
        Assert.Equal($"__attribute__((btf_decl_tag(\"bpf_kfunc\"))) /* on Func _printk #{printk} */", BtfCDeclaration.Format(spec, tag));
        Assert.Equal("char __attribute__((btf_type_tag(\"user\"))) *", BtfCDeclaration.Format(spec, user));
        Assert.Equal("union maybe;", BtfCDeclaration.Format(spec, fwdUnion));
        Assert.Equal("void", BtfCDeclaration.Format(spec.GetType(0)));
        Assert.Equal(0, spec.DecodedTypeCount);
    }

    [SkippableFact]
    public void VmlinuxTaskStruct()
    {
        Skip.IfNot(BtfTools.HaveVmlinux, "no /sys/kernel/btf/vmlinux on this machine");
        var spec = KernelBtf.GetVmlinux();
        uint task = spec.FindByName("task_struct").Single(id => spec.GetKind(id) == BtfKind.Struct);
        int decoded = spec.DecodedTypeCount;
        string text = BtfCDeclaration.Format(spec, task);
        Assert.StartsWith("struct task_struct {\n", text);
        Assert.Contains("\n\tpid_t pid;\n", text);
        Assert.Contains("\n\tstruct task_struct *real_parent;\n", text);
        Assert.EndsWith("\n};", text);
        // Formatting decodes privately: the shared spec does not grow.
        Assert.Equal(decoded, spec.DecodedTypeCount);
    }
}
