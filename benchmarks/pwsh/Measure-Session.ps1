<#
.SYNOPSIS
    One user session, timed from inside: Import-Module BpfPS, then -Loads times Import-BpfCollection + Remove-BpfCollection
    of one object. Run it in a fresh `pwsh -NoProfile`; prints one JSON line for Invoke-SessionBench.ps1.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Object,
    [int] $Loads = 240,
    # 0: the default (as many programs at once as the CPUs allow); 1: one by one.
    [int] $ThrottleLimit = 0,
    # Loads from this one on are the warm steady state; allocation is measured over them.
    [int] $SteadyFrom = 200
)
$ErrorActionPreference = 'Stop'
# Process CPU time (all threads: a parallel load verifies on several), in clock ticks: read only around many loads.
$process = [Diagnostics.Process]::GetCurrentProcess()
function Get-CpuMs { $process.Refresh(); $process.TotalProcessorTime.TotalMilliseconds }
$cpu = @{}
$sw = [Diagnostics.Stopwatch]::StartNew()
Import-Module $ModulePath
$importMs = $sw.Elapsed.TotalMilliseconds
$cpu.Start = Get-CpuMs

$throttle = if ($ThrottleLimit -gt 0) { @{ ThrottleLimit = $ThrottleLimit } } else { @{} }
$times = [double[]]::new($Loads)
$inBpf = [double[]]::new($Loads)
$allocatedFrom = 0L
for ($i = 0; $i -lt $Loads; $i++) {
    if ($i -eq 40) { $cpu.After40 = Get-CpuMs }
    if ($i -eq $SteadyFrom) { $allocatedFrom = [GC]::GetTotalAllocatedBytes($true); $cpu.SteadyStart = Get-CpuMs }
    if ($i -gt 0) { [BpfPS.Core.Kernel.SyscallStats]::Current.Reset() } # the type is first touched after the first load
    $sw.Restart()
    $collection = Import-BpfCollection -Path $Object @throttle
    Remove-BpfCollection $collection
    $times[$i] = $sw.Elapsed.TotalMilliseconds
    if ($i -gt 0) { $inBpf[$i] = [BpfPS.Core.Kernel.SyscallStats]::Current.TotalElapsed.TotalMilliseconds }
}
$steady = [Math]::Max(1, $Loads - $SteadyFrom)
$cpu.End = Get-CpuMs
[pscustomobject]@{
    ImportMs          = $importMs
    LoadMs            = $times
    InBpfMs           = $inBpf
    CpuFirst40Ms      = if ($cpu.After40) { $cpu.After40 - $cpu.Start } else { 0 }
    CpuPerSteadyLoadMs = if ($cpu.SteadyStart) { ($cpu.End - $cpu.SteadyStart) / $steady } else { 0 }
    AllocatedPerSteadyLoad = if ($Loads -gt $SteadyFrom) { ([GC]::GetTotalAllocatedBytes($true) - $allocatedFrom) / $steady } else { 0 }
} | ConvertTo-Json -Compress
