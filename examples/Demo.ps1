<#
.SYNOPSIS
    The BpfPS demo: browse kernel BTF, load examples/packet_counter.o, run its XDP program on test packets and watch its
    maps change. `dotnet pwsh ./build.ps1 demo` builds the module and runs this.
#>
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/BpfPS/BpfPS.psd1')
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

function Show([string] $Title) {
    Write-Host ''
    Write-Host "== $Title" -ForegroundColor Cyan
}

# An Ethernet frame of the minimum size, zero but for its EtherType (bytes 12-13, big-endian on the wire).
function New-Frame([uint16] $EtherType) {
    $frame = [byte[]]::new(64)
    $frame[12] = $EtherType -shr 8
    $frame[13] = $EtherType -band 0xff
    $frame
}

Show 'Kernel BTF: the context an XDP program receives (Get-BtfType)'
Get-BtfType -Name xdp_md -Kind Struct | Format-Custom -View Declaration | Out-Host
(Get-BtfType -Name xdp_md -Kind Struct).Members | Format-Table | Out-Host
Get-BtfCache | Select-Object Loaded, TypeCount, DecodedTypeCount, ParseCount | Format-Table | Out-Host

if (-not [Environment]::IsPrivilegedProcess) {
    Write-Warning 'Loading programs needs root (or CAP_BPF): run the demo as root to see the rest.'
    return
}

$object = Join-Path $PSScriptRoot 'packet_counter.o'
Show "Import-BpfCollection $object"
$collection = Import-BpfCollection -Path $object -Verbose
$collection | Format-Table | Out-Host
$collection.Programs.Values | Format-Table | Out-Host
$collection.Maps.Values | Format-Table | Out-Host

Show 'The maps before any packet (Get-BpfMapEntry)'
$collection.Maps.Values | Get-BpfMapEntry | Format-Table | Out-Host

Show 'Run count_packets on three IPv4 frames and one IPv6 frame (Invoke-BpfProgram: BPF_PROG_TEST_RUN)'
$runs = @(
    1..3 | ForEach-Object { Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x0800) }
    Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x86DD)
)
$runs | Format-Table | Out-Host

Show 'The maps after: 4 packets in all, 3 of EtherType 0x0800 (2048) and 1 of 0x86DD (34525)'
$collection.Maps.Values | Get-BpfMapEntry | Format-Table | Out-Host

Show 'Load it again with -Constant @{ verdict = 1 }: the same program now drops'
$dropping = Import-BpfCollection -Path $object -Constant @{ verdict = 1 }
Invoke-BpfProgram -Collection $dropping -Name count_packets -Data (New-Frame 0x0800) | Format-Table | Out-Host

Show 'Attach where the section says and count real system calls (Import-BpfCollection -Attach, Get-BpfLink)'
$counter = Import-BpfCollection -Path (Join-Path $PSScriptRoot 'syscall_counter.o') -Attach
Start-Sleep -Milliseconds 500
Get-BpfLink -Collection $counter | Format-Table | Out-Host
$counter.Maps.syscalls | Get-BpfMapEntry | Sort-Object Value -Descending | Select-Object -First 5 | Format-Table | Out-Host
Remove-BpfCollection $counter   # detaches its link too

Show 'Remove-BpfCollection: the kernel frees the programs and maps'
Get-BpfCollection | Remove-BpfCollection -Verbose
"Collections still loaded: $(@(Get-BpfCollection).Count)" | Out-Host
