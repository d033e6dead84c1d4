namespace BpfPS;

/// <summary>A raw event record (Receive-BpfEvent without -Type): the bytes as the program sent them.</summary>
public sealed class BpfEventRecord
{
    public BpfEventRecord(string map, uint mapId, int cpu, byte[] data)
    {
        Map = map;
        MapId = mapId;
        Cpu = cpu;
        Data = data;
    }

    /// <summary>The name of the map the record came from.</summary>
    public string Map { get; }
    /// <summary>The kernel id of that map.</summary>
    public uint MapId { get; }
    /// <summary>The CPU a perf buffer record came from; -1 for ring buffer records.</summary>
    public int Cpu { get; }
    /// <summary>Bytes in the record.</summary>
    public int Length => Data.Length;
    /// <summary>The record's bytes (perf records include the kernel's padding to 8 bytes).</summary>
    public byte[] Data { get; }

    public override string ToString() => $"{Length} bytes from '{Map}'";
}
