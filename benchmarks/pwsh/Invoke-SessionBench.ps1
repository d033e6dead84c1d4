<#
.SYNOPSIS
    What users run: fresh `pwsh -NoProfile` sessions that import the built module and load an object 240 times, against
    libbpf in fresh processes, in alternating rounds. Writes the first table of docs/performance.md.
.DESCRIPTION
    Each round runs, for each object: a session loading with the default parallelism (which follows program size), a
    session loading one program at a time (-ThrottleLimit 1), one verifying on every CPU (-ThrottleLimit <CPUs>), and
    the libbpf harness (load N: each iteration is open + load + close; its first one also
    probes kernel features). A BpfPS load is Import-BpfCollection + Remove-BpfCollection; the first one includes reading
    kernel BTF. Medians over rounds; "worst" is the slowest single load of all rounds.
#>
param(
    [Parameter(Mandatory)] [string] $Root,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Libbpf,
    [Parameter(Mandatory)] [string[]] $Object,
    [int] $Rounds = 3,
    [int] $Loads = 240,
    # A binary module with one cmdlet and no format or types files: Import-Module's floor in these sessions.
    [string] $EmptyModulePath,
    [string] $Report = (Join-Path $Root 'docs/performance.md')
)
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$inv = [Globalization.CultureInfo]::InvariantCulture

function Get-Median([double[]] $Values) {
    if (-not $Values -or $Values.Count -eq 0) { return [double]::NaN }
    $s = [double[]]($Values | Sort-Object); $m = [int][Math]::Floor($s.Count / 2)
    if ($s.Count % 2) { $s[$m] } else { ($s[$m - 1] + $s[$m]) / 2 }
}
function F([double] $v, [string] $format = '0.0') { if ([double]::IsNaN($v)) { 'n/a' } else { $v.ToString($format, $inv) } }

# A fresh PowerShell of the same version as this one (the pinned dotnet tool runs as `dotnet pwsh.dll`).
$pwshHost = [Environment]::ProcessPath
$pwshPrefix = @(if ([IO.Path]::GetFileNameWithoutExtension($pwshHost) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
$session = Join-Path $PSScriptRoot 'Measure-Session.ps1'

function Invoke-Session([string] $Path, [int] $Throttle, [string] $Module = $ModulePath, [int] $Count = $Loads) {
    $json = & $pwshHost @pwshPrefix -NoProfile -NonInteractive -File $session -ModulePath $Module -Object $Path -Loads $Count -ThrottleLimit $Throttle
    if ($LASTEXITCODE -ne 0) { throw "session for $Path failed ($LASTEXITCODE): $json" }
    $json | Select-Object -Last 1 | ConvertFrom-Json
}

function Invoke-Libbpf([string] $Path) {
    $lines = & $Libbpf load $Path $Loads 2>$null
    if ($LASTEXITCODE -ne 0) { return $null }
    # total_ns syscall_ns open_ns cpu_ns per iteration
    $rows = @($lines | Where-Object { $_ } | ForEach-Object { , [double[]]($_ -split ' ') })
    [pscustomobject]@{ LoadMs = [double[]]($rows | ForEach-Object { $_[0] / 1e6 }); CpuMs = [double[]]($rows | ForEach-Object { $_[3] / 1e6 }); InBpfMs = [double[]]($rows | ForEach-Object { $_[1] / 1e6 }) }
}

function Get-Figures($Runs, [switch] $Libbpf) {
    if (-not $Runs) { return $null }
    $steadyFrom = [Math]::Min(200, $Loads - 1)
    [pscustomobject]@{
        Import     = if ($Libbpf) { [double]::NaN } else { Get-Median ($Runs | ForEach-Object ImportMs) }
        First      = Get-Median ($Runs | ForEach-Object { $_.LoadMs[0] })
        Each       = Get-Median ($Runs | ForEach-Object { $_.LoadMs[1..39] })
        Worst      = ($Runs | ForEach-Object { $_.LoadMs[1..39] } | Measure-Object -Maximum).Maximum
        Sum40      = Get-Median ($Runs | ForEach-Object { ($_.LoadMs[0..39] | Measure-Object -Sum).Sum })
        Steady     = Get-Median ($Runs | ForEach-Object { $_.LoadMs[$steadyFrom..($Loads - 1)] })
        InBpf      = Get-Median ($Runs | ForEach-Object { $_.InBpfMs[$steadyFrom..($Loads - 1)] })
        Cpu40      = if ($Libbpf) { Get-Median ($Runs | ForEach-Object { ($_.CpuMs[0..39] | Measure-Object -Sum).Sum }) } else { Get-Median ($Runs | ForEach-Object CpuFirst40Ms) }
        CpuSteady  = if ($Libbpf) { Get-Median ($Runs | ForEach-Object { $_.CpuMs[$steadyFrom..($Loads - 1)] }) } else { Get-Median ($Runs | ForEach-Object CpuPerSteadyLoadMs) }
        Allocated  = if ($Libbpf) { [double]::NaN } else { Get-Median ($Runs | ForEach-Object AllocatedPerSteadyLoad) }
    }
}

$loadAverageStart = (Get-Content /proc/loadavg).Split(' ')[0]
$cpus = [Environment]::ProcessorCount
$emptyImports = [Collections.Generic.List[double]]::new()
$results = foreach ($path in $Object) {
    $name = Split-Path $path -Leaf
    $default = [Collections.Generic.List[object]]::new(); $serial = [Collections.Generic.List[object]]::new()
    $parallel = [Collections.Generic.List[object]]::new(); $native = [Collections.Generic.List[object]]::new()
    for ($r = 1; $r -le $Rounds; $r++) {
        Write-Host "  $name round $r/$Rounds"
        $default.Add((Invoke-Session $path 0))
        $serial.Add((Invoke-Session $path 1))
        $parallel.Add((Invoke-Session $path $cpus))
        if ($EmptyModulePath) { $emptyImports.Add((Invoke-Session $path 0 -Module $EmptyModulePath -Count 0).ImportMs) }
        if ($l = Invoke-Libbpf $path) { $native.Add($l) }
    }
    [pscustomobject]@{
        Name = $name
        Default = Get-Figures $default
        Parallel = Get-Figures $parallel
        Serial = Get-Figures $serial
        Libbpf = Get-Figures $native -Libbpf
    }
}

$md = [Text.StringBuilder]::new()
$kernel = (Get-Content /proc/sys/kernel/osrelease).Trim()
$null = $md.AppendLine('<!-- sessions -->')
$null = $md.AppendLine('## In pwsh, as users run it')
$null = $md.AppendLine()
$null = $md.AppendLine("Measured by ``dotnet pwsh ./build.ps1 bench`` on $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm', $inv)) UTC: $([Environment]::ProcessorCount) CPUs, Linux $kernel, PowerShell $($PSVersionTable.PSVersion), .NET $([Environment]::Version).")
$null = $md.AppendLine("Every BpfPS figure comes from a fresh ``pwsh -NoProfile`` running the built module from ``out/BpfPS`` (ReadyToRun): ``Import-Module``, then")
$null = $md.AppendLine("$Loads loads, each ``Import-BpfCollection`` + ``Remove-BpfCollection`` (the first one reads kernel BTF). libbpf 1.1 runs the same count in a fresh")
$null = $md.AppendLine("process (open + load + close; its first load probes kernel features). $Rounds rounds, alternating the default, serial (``-ThrottleLimit 1``), every CPU (``-ThrottleLimit $cpus``) and")
$null = $md.AppendLine("libbpf; medians over rounds, worst = slowest single load. CPU = the process's user + system time (all threads).")
$null = $md.AppendLine()
$null = $md.AppendLine('| object | loader | Import-Module ms | first load ms | loads 2-40: median ms | worst ms | sum of 40 ms | CPU of 40 ms | steady (loads 201-240) ms | steady CPU ms | in bpf() ms | allocated per load | sum of 40 vs libbpf | steady vs libbpf |')
$null = $md.AppendLine('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
foreach ($o in $results) {
    foreach ($row in @(@('BpfPS, default', $o.Default), @('BpfPS, one by one', $o.Serial), @("BpfPS, $cpus threads", $o.Parallel), @('libbpf 1.1', $o.Libbpf))) {
        $label, $f = $row
        if (-not $f) { $null = $md.AppendLine("| $($o.Name) | $label | refused the object | | | | | | | | | | | |"); continue }
        $vsSum = if ($o.Libbpf) { (F ($f.Sum40 / $o.Libbpf.Sum40) '0.00') + 'x' } else { 'n/a' }
        $vsSteady = if ($o.Libbpf) { (F ($f.Steady / $o.Libbpf.Steady) '0.00') + 'x' } else { 'n/a' }
        $alloc = if ([double]::IsNaN($f.Allocated)) { '' } else { "$(F ($f.Allocated / 1024) '0') KiB" }
        $null = $md.AppendLine("| $($o.Name) | $label | $(F $f.Import) | $(F $f.First) | $(F $f.Each '0.00') | $(F $f.Worst) | $(F $f.Sum40 '0') | $(F $f.Cpu40 '0') | $(F $f.Steady '0.00') | $(F $f.CpuSteady '0.00') | $(F $f.InBpf '0.00') | $alloc | $vsSum | $vsSteady |")
    }
}
$null = $md.AppendLine()
$null = $md.AppendLine("- in bpf(): time inside the bpf() syscall per steady load, summed over threads (one by one: the serial floor of any loader).")
$core = [Reflection.Assembly]::LoadFrom((Join-Path (Split-Path $ModulePath) 'BpfPS.Core.dll'))
$minInstructions = $core.GetType('BpfPS.Core.Loading.CollectionOptions').GetField('ParallelMinInstructions').GetValue($null)
$null = $md.AppendLine("- default: as many threads as CPUs when two or more programs have $minInstructions instructions or more, else one by one.")
if ($emptyImports.Count) {
    $null = $md.AppendLine("- Import-Module of a binary module with one cmdlet and no format or types files, in the same sessions: $(F (Get-Median $emptyImports)) ms (median of $($emptyImports.Count)): PowerShell's own floor for importing any binary module.")
}
$null = $md.AppendLine("- allocated per load: the whole process's managed allocations over the steady loads (PowerShell's own included).")
$null = $md.AppendLine("- Load average (1 min) at the start and end: $loadAverageStart and $((Get-Content /proc/loadavg).Split(' ')[0]).")
$null = $md.AppendLine('<!-- /sessions -->')
$table = $md.ToString()
Write-Host $table

# The table goes first, under the title; a previous one is replaced. The rest of the page is left as it is.
$text = if (Test-Path $Report) { Get-Content -Raw $Report } else { "# Performance`n" }
$start = $text.IndexOf('<!-- sessions -->'); $end = $text.IndexOf('<!-- /sessions -->')
if ($start -ge 0 -and $end -gt $start) {
    $text = $text.Remove($start, $end + '<!-- /sessions -->'.Length - $start).Insert($start, $table.TrimEnd())
}
else {
    $newline = $text.IndexOf("`n")
    $text = $text.Insert($newline + 1, "`n" + $table)
}
Set-Content -Path $Report -Value $text.TrimEnd() -NoNewline
Add-Content -Path $Report -Value ''
$results | ConvertTo-Json -Depth 4 | Set-Content (Join-Path $Root 'build/bench/sessions.json')
