BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force

    # Runs a script in a new pwsh process, so what it sees of the process-wide cache is not disturbed by this one.
    function Invoke-InFreshProcess([string] $Script) {
        $text = "`$ErrorActionPreference = 'Stop'; Import-Module '$ModulePath'; $Script"
        $output = & $PwshHost @PwshPrefix -NoProfile -NonInteractive -Command $text
        if ($LASTEXITCODE -ne 0) { throw "child pwsh failed: $output" }
        $output | ConvertFrom-Json
    }
}

Describe 'The kernel BTF cache' {
    BeforeEach { Skip-Unless $HasKernelBtf $NeedsKernelBtf }
    It 'holds the kernel spec after a lookup, with the size and type count of the file' {
        $null = Get-BtfType -Name task_struct
        $cache = Get-BtfCache
        $cache.Loaded | Should -BeTrue
        $cache.HeldByRunspace | Should -BeTrue
        $cache.Source | Should -Be $VmlinuxPath
        $cache.RawBytes | Should -Be (Get-Item $VmlinuxPath).Length
        $cache.RunspaceId | Should -Be ([runspace]::DefaultRunspace.Id)
    }

    It 'counts the types bpftool counts' {
        Skip-Unless $Bpftool $NeedsBpftool
        $null = Get-BtfType -Name task_struct
        $bpftoolCount = [regex]::Matches((& $Bpftool btf dump file $VmlinuxPath format raw) -join "`n", '(?m)^\[\d+\] ').Count
        (Get-BtfCache).TypeCount | Should -Be $bpftoolCount
    }

    It 'decodes lazily: a lookup decodes a few types, not all' {
        # In a fresh process: here, earlier tests (a whole vmlinux.h, say) may have decoded everything already.
        $cache = Invoke-InFreshProcess '$null = Get-BtfType -Name task_struct; Get-BtfCache | ConvertTo-Json -Compress'
        $cache.DecodedTypeCount | Should -BeGreaterThan 0
        $cache.DecodedTypeCount | Should -BeLessThan ($cache.TypeCount / 100)
    }

    It 'reuses the same spec instance across calls without parsing again' {
        $null = Get-BtfType -Name task_struct
        $first = Get-BtfCache
        $null = Get-BtfType -Name 'sk_buff*'
        $null = Get-BtfType -Kind Enum -Name bpf_map_type
        $second = Get-BtfCache
        $second.InstanceId | Should -Be $first.InstanceId
        $second.ParseCount | Should -Be $first.ParseCount
        $first.InstanceId | Should -BeGreaterThan 0
    }

    It 'shares that instance with ForEach-Object -Parallel runspaces' {
        $null = Get-BtfType -Name task_struct
        $mine = Get-BtfCache
        $theirs = 1..3 | ForEach-Object -ThrottleLimit 3 -Parallel {
            Import-Module $using:ModulePath
            $null = Get-BtfType -Name sk_buff -Kind Struct
            Get-BtfCache
        }
        $theirs.Count | Should -Be 3
        foreach ($cache in $theirs) {
            $cache.HeldByRunspace | Should -BeTrue
            $cache.InstanceId | Should -Be $mine.InstanceId
            $cache.ParseCount | Should -Be $mine.ParseCount
            $cache.RunspaceId | Should -Not -Be $mine.RunspaceId
        }
    }

    It 'Clear-BtfCache -WhatIf releases nothing' {
        $null = Get-BtfType -Name task_struct
        Clear-BtfCache -WhatIf
        (Get-BtfCache).HeldByRunspace | Should -BeTrue
    }

    It 'Clear-BtfCache drops this runspace''s reference, and the next lookup takes it again' {
        $null = Get-BtfType -Name task_struct
        Clear-BtfCache
        (Get-BtfCache).HeldByRunspace | Should -BeFalse
        $null = Get-BtfType -Name task_struct
        (Get-BtfCache).HeldByRunspace | Should -BeTrue
    }

    It 'frees the spec once no runspace holds it, and parses again on the next use' {
        $result = Invoke-InFreshProcess @'
$null = Get-BtfType -Name task_struct
$before = Get-BtfCache
Clear-BtfCache
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
$cleared = Get-BtfCache
$null = Get-BtfType -Name task_struct
$after = Get-BtfCache
@{ Before = $before; Cleared = $cleared; After = $after } | ConvertTo-Json -Depth 3 -Compress
'@
        $result.Before.Loaded | Should -BeTrue
        $result.Cleared.Loaded | Should -BeFalse
        $result.Cleared.HeldByRunspace | Should -BeFalse
        $result.After.ParseCount | Should -Be ($result.Before.ParseCount + 1)
    }

    It 'releases a runspace''s reference when the runspace closes' {
        $result = Invoke-InFreshProcess @'
$ps = [powershell]::Create()
$null = $ps.AddScript("Import-Module '$((Get-Module BpfPS).Path)'; `$null = Get-BtfType -Name task_struct; (Get-BtfCache).HeldByRunspace").Invoke()
$whileOpen = Get-BtfCache
$ps.Runspace.Close(); $ps.Dispose()
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
$afterClose = Get-BtfCache
@{ WhileOpen = $whileOpen.Loaded; AfterClose = $afterClose.Loaded; HeldHere = $whileOpen.HeldByRunspace } | ConvertTo-Json -Compress
'@
        $result.HeldHere | Should -BeFalse
        $result.WhileOpen | Should -BeTrue
        $result.AfterClose | Should -BeFalse
    }

    It 'releases this runspace''s reference on Remove-Module' {
        $result = Invoke-InFreshProcess @'
$path = (Get-Module BpfPS).Path
$null = Get-BtfType -Name task_struct
Remove-Module BpfPS
[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
Import-Module $path
(Get-BtfCache) | ConvertTo-Json -Compress
'@
        $result.HeldByRunspace | Should -BeFalse
        $result.Loaded | Should -BeFalse
    }
}
