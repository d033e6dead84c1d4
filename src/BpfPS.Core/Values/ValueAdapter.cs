namespace BpfPS.Core.Values;

/// <summary>
/// Turns a caller's object into one the encoder understands, before each level of a value is encoded. The core knows
/// nothing of PowerShell; the cmdlets pass an adapter that unwraps PSObject and turns a PSCustomObject into a
/// dictionary of its properties. Returning the input unchanged is always fine.
/// </summary>
public delegate object? ValueAdapter(object value);
