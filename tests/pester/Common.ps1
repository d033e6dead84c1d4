# Dot-sourced by every *.Tests.ps1, in BeforeDiscovery (for -Skip conditions) and in BeforeAll (for the tests):
# where the module and fixtures are, and what this machine can do.
$RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$ModulePath = if ($env:BPFPS_MODULE_PATH) { $env:BPFPS_MODULE_PATH } else { Join-Path $RepoRoot 'out/BpfPS/BpfPS.psd1' }
$FixturesPath = if ($env:BPFPS_FIXTURES_PATH) { $env:BPFPS_FIXTURES_PATH } else { Join-Path $RepoRoot 'build/fixtures' }
$ExampleObject = Join-Path $RepoRoot 'examples/packet_counter.o'

$VmlinuxPath = '/sys/kernel/btf/vmlinux'
$HasKernelBtf = Test-Path $VmlinuxPath
$IsRoot = [Environment]::IsPrivilegedProcess
$Bpftool = @(Get-Command bpftool -ErrorAction Ignore | ForEach-Object Source) + @('/usr/sbin/bpftool') |
    Where-Object { Test-Path $_ } | Select-Object -First 1
$Clang = Get-Command clang-14 -ErrorAction Ignore | ForEach-Object Source
$KernelModulesWithBtf = @(if (Test-Path /sys/kernel/btf) { Get-ChildItem /sys/kernel/btf | Where-Object Name -NE 'vmlinux' | ForEach-Object Name })
$BpffsMounted = [bool](Get-Content /proc/mounts -ErrorAction Ignore | Where-Object { ($_ -split ' ')[1] -eq '/sys/fs/bpf' -and ($_ -split ' ')[2] -eq 'bpf' })

# bpftool's view of a BTF file, the independent reference the tests compare against: one object per type with its
# id, kind, name, size and member lines, parsed from `bpftool btf dump file <path> format raw`.
function Get-BpftoolTypes {
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Name)
    $lines = & $Bpftool btf dump file $Path format raw
    if ($LASTEXITCODE -ne 0) { throw "bpftool failed on $Path" }
    $wanted = if ($Name) { [Collections.Generic.HashSet[string]]::new([string[]]$Name) } else { $null }
    $current = $null
    foreach ($line in $lines) {
        if ($line -match "^\[(\d+)\] (\w+) '([^']*)'(.*)$") {
            if ($current) { $current }
            $current = $null
            if ($null -eq $wanted -or $wanted.Contains($Matches[3])) {
                $rest = $Matches[4]
                $current = [pscustomobject]@{
                    Id      = [uint32]$Matches[1]
                    Kind    = $Matches[2]
                    Name    = if ($Matches[3] -eq '(anon)') { '' } else { $Matches[3] }
                    Size    = if ($rest -match '\bsize=(\d+)') { [uint32]$Matches[1] } else { $null }
                    Members = [Collections.Generic.List[object]]::new()
                }
            }
        }
        elseif ($current -and $line -match "^\s+'([^']*)' (?:type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?|val=(-?\d+))") {
            $current.Members.Add([pscustomobject]@{
                    Name         = if ($Matches[1] -eq '(anon)') { '' } else { $Matches[1] }
                    TypeId       = if ($Matches[2]) { [uint32]$Matches[2] } else { $null }
                    BitOffset    = if ($Matches[3]) { [uint32]$Matches[3] } else { $null }
                    BitfieldSize = if ($Matches[4]) { [byte]$Matches[4] } else { [byte]0 }
                    Value        = if ($Matches[5]) { [long]$Matches[5] } else { $null }
                })
        }
    }
    if ($current) { $current }
}

# BTF kind names as bpftool prints them, mapped to BpfPS's BtfKind names.
$BpftoolKinds = @{
    INT = 'Int'; PTR = 'Pointer'; ARRAY = 'Array'; STRUCT = 'Struct'; UNION = 'Union'; ENUM = 'Enum'; FWD = 'Fwd'
    TYPEDEF = 'Typedef'; VOLATILE = 'Volatile'; CONST = 'Const'; RESTRICT = 'Restrict'; FUNC = 'Func'; FUNC_PROTO = 'FuncProto'
    VAR = 'Var'; DATASEC = 'Datasec'; FLOAT = 'Float'; DECL_TAG = 'DeclTag'; TYPE_TAG = 'TypeTag'; ENUM64 = 'Enum64'
}
