namespace BpfPS.Core.Tests.Hardening.Fuzzing;

/// <summary>What a blob holds, which decides how the mutator finds its fields.</summary>
public enum BlobKind { Elf, Btf, BtfExt, Instructions }

/// <summary>
/// One code path under fuzz: the blobs it takes, the work it does with them, and the exceptions it may throw for bad
/// input (anything else escaping is a finding).
/// </summary>
public sealed class FuzzTarget
{
    public required string Name { get; init; }
    public required BlobKind[] Blobs { get; init; }
    /// <summary>Runs the code under test on decoded blobs.</summary>
    public required Action<ReadOnlyMemory<byte>[]> Run { get; init; }
    /// <summary>True for the exception types this path documents for malformed input.</summary>
    public Func<Exception, bool> IsExpected { get; init; } = e => e is BpfFormatException;

    /// <summary>Runs one encoded input (as saved to disk, or as AFL hands it over).</summary>
    public void RunEncoded(ReadOnlyMemory<byte> input) => Run(FuzzInput.Decode(input, Blobs.Length));

    public static InputLayout LayoutOf(BlobKind kind, ReadOnlySpan<byte> blob) => kind switch
    {
        BlobKind.Elf => ElfLayout.Of(blob),
        BlobKind.Btf => BtfLayout.Of(blob),
        BlobKind.BtfExt => BtfExtLayout.Of(blob),
        _ => InstructionLayout.Of(blob),
    };
}
