# Dot-sourced by every *.Tests.ps1, in BeforeDiscovery (for -ForEach data) and in BeforeAll (for the tests): where the
# module and fixtures are, what this machine can do, and Skip-Unless to skip a test with the reason when it cannot.
$RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$ModulePath = if ($env:BPFPS_MODULE_PATH) { $env:BPFPS_MODULE_PATH } else { Join-Path $RepoRoot 'out/BpfPS/BpfPS.psd1' }
$FixturesPath = if ($env:BPFPS_FIXTURES_PATH) { $env:BPFPS_FIXTURES_PATH } else { Join-Path $RepoRoot 'build/fixtures' }
$ExampleObject = Join-Path $RepoRoot 'examples/packet_counter.o'

$VmlinuxPath = '/sys/kernel/btf/vmlinux'
$HasKernelBtf = Test-Path $VmlinuxPath
# BPFPS_PESTER_UNPRIVILEGED=1 runs the suite as if not root, to check that root-only tests skip cleanly.
$IsRoot = [Environment]::IsPrivilegedProcess -and -not $env:BPFPS_PESTER_UNPRIVILEGED
$Bpftool = @(Get-Command bpftool -ErrorAction Ignore | ForEach-Object Source) + @('/usr/sbin/bpftool') |
    Where-Object { Test-Path $_ } | Select-Object -First 1
$Clang = Get-Command clang-14 -ErrorAction Ignore | ForEach-Object Source
$KernelModulesWithBtf = @(if (Test-Path /sys/kernel/btf) { Get-ChildItem /sys/kernel/btf | Where-Object Name -NE 'vmlinux' | ForEach-Object Name })
$BpffsMounted = [bool](Get-Content /proc/mounts -ErrorAction Ignore | Where-Object { ($_ -split ' ')[1] -eq '/sys/fs/bpf' -and ($_ -split ' ')[2] -eq 'bpf' })

# A new pwsh process of this PowerShell: pwsh itself, or `dotnet <PSHOME>/pwsh.dll` when it runs as a dotnet tool.
# Start it as `& $PwshHost @PwshPrefix -NoProfile ...` (or through a launcher: `setpriv ... -- $PwshHost @PwshPrefix`).
$PwshHost = [Environment]::ProcessPath
$PwshPrefix = @(if ([IO.Path]::GetFileNameWithoutExtension($PwshHost) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

$NeedsRoot = 'needs root (CAP_BPF) to load programs, and this run is not root'
$NeedsKernelBtf = 'the kernel publishes no BTF (/sys/kernel/btf/vmlinux is missing)'
$NeedsBpftool = 'bpftool is not installed (run build.ps1 prerequisites)'
$NeedsClang = 'clang-14 is not installed (run build.ps1 prerequisites)'
$NeedsModuleBtf = 'no loaded kernel module publishes BTF on this machine'
$NeedsBpffs = 'bpffs is not mounted at /sys/fs/bpf'

# Marks the running test skipped, saying why, unless the machine can run it (call it from It or BeforeEach).
function Skip-Unless($Condition, [string] $Reason) {
    if (-not $Condition) { Set-ItResult -Skipped -Because $Reason }
}

# bpftool's view of a BTF file, the independent reference the tests compare against: one object per type with its
# id, kind, name, size and member lines, parsed from `bpftool btf dump file <path> format raw`.
function Get-BpftoolTypes {
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Name)
    $text = (& $Bpftool btf dump file $Path format raw) -join "`n"
    if ($LASTEXITCODE -ne 0) { throw "bpftool failed on $Path" }
    # One .NET regex over the whole dump (vmlinux gives ~300k lines): far faster than a PowerShell loop.
    $names = if ($Name) { ($Name | ForEach-Object { [regex]::Escape($_) }) -join '|' } else { "[^']*" }
    foreach ($header in [regex]::Matches($text, "(?m)^\[(\d+)\] (\w+) '($names)'([^\n]*)")) {
        $rest = $header.Groups[4].Value
        $type = [pscustomobject]@{
            Id      = [uint32]$header.Groups[1].Value
            Kind    = $header.Groups[2].Value
            Name    = if ($header.Groups[3].Value -eq '(anon)') { '' } else { $header.Groups[3].Value }
            Size    = if ($rest -match '\bsize=(\d+)') { [uint32]$Matches[1] } else { $null }
            Members = [Collections.Generic.List[object]]::new()
        }
        $next = $text.IndexOf("`n[", $header.Index + $header.Length)
        $body = if ($next -lt 0) { $text.Substring($header.Index + $header.Length) } else { $text.Substring($header.Index + $header.Length, $next - $header.Index - $header.Length) }
        foreach ($member in [regex]::Matches($body, "(?m)^\s+'([^']*)' (?:type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?|val=(-?\d+))")) {
            $g = $member.Groups
            $type.Members.Add([pscustomobject]@{
                    Name         = if ($g[1].Value -eq '(anon)') { '' } else { $g[1].Value }
                    TypeId       = if ($g[2].Success) { [uint32]$g[2].Value } else { $null }
                    BitOffset    = if ($g[3].Success) { [uint32]$g[3].Value } else { $null }
                    BitfieldSize = if ($g[4].Success) { [byte]$g[4].Value } else { [byte]0 }
                    Value        = if ($g[5].Success) { [long]$g[5].Value } else { $null }
                })
        }
        $type
    }
}

# BTF kind names as bpftool prints them, mapped to BpfPS's BtfKind names.
$BpftoolKinds = @{
    INT = 'Int'; PTR = 'Pointer'; ARRAY = 'Array'; STRUCT = 'Struct'; UNION = 'Union'; ENUM = 'Enum'; FWD = 'Fwd'
    TYPEDEF = 'Typedef'; VOLATILE = 'Volatile'; CONST = 'Const'; RESTRICT = 'Restrict'; FUNC = 'Func'; FUNC_PROTO = 'FuncProto'
    VAR = 'Var'; DATASEC = 'Datasec'; FLOAT = 'Float'; DECL_TAG = 'DeclTag'; TYPE_TAG = 'TypeTag'; ENUM64 = 'Enum64'
}
