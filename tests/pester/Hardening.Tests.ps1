# Hardening: 8 runspaces loading and removing CO-RE collections against the one shared kernel spec, and
# Import-BpfCollection without capabilities. The fuzzing and fault injection are in xunit (Hardening/).
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    $canLoad = $IsRoot -and $HasKernelBtf
    $loadReason = 'loading BPF programs with CO-RE needs root and /sys/kernel/btf/vmlinux'
    $setpriv = Get-Command setpriv -ErrorAction Ignore
    $canDrop = $IsRoot -and [bool]$setpriv
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $coreFixture = Join-Path $FixturesPath 'core_fields.o'

    # Descriptors of this process, after finalizers ran (dropped handles close there, not when dropped).
    function Get-OpenFdCount {
        [GC]::Collect(); [GC]::WaitForPendingFinalizers()
        @(Get-ChildItem /proc/self/fd).Count
    }

    # Kind, name, size and every member or value of some kernel types: compared before and after the soak.
    function Get-SpecSnapshot([BpfPS.Core.Btf.BtfSpec] $Spec) {
        $ids = [Collections.Generic.List[uint32]]::new()
        foreach ($name in 'task_struct', 'pid_t', 'bpf_func_id') { $ids.AddRange($Spec.FindByName($name)) }
        for ([uint32] $id = 1; $id -lt $Spec.NextTypeId; $id += 997) { $ids.Add($id) }
        $sha = [Security.Cryptography.SHA256]::HashData([byte[]]$Spec.RawBytes.ToArray())
        @([Convert]::ToHexString($sha)) + @(foreach ($id in $ids) {
                $t = $Spec.GetType($id)
                $parts = @(
                    if ($t -is [BpfPS.Core.Btf.BtfComposite]) { $t.Members | ForEach-Object { "$($_.Name):$($_.TypeId)@$($_.BitOffset)/$($_.BitfieldSize)" } }
                    elseif ($t -is [BpfPS.Core.Btf.BtfEnum]) { $t.Values | ForEach-Object { "$($_.Name)=$($_.Value)" } }
                    elseif ($t -is [BpfPS.Core.Btf.BtfReference]) { "->$($t.TypeId)" })
                "$id $($t.Kind) '$($t.Name)' $($t.Size) $($parts -join ',')"
            })
    }
}

Describe 'Eight runspaces loading CO-RE collections at once' -Skip:(-not $canLoad) {
    It 'loads and removes core_fields.o 8 x N times: no error, no descriptor growth, the kernel spec unchanged and parsed once' {
        $loads = if ($env:BPFPS_SOAK_LOADS) { [int]$env:BPFPS_SOAK_LOADS } else { 100 }
        # This runspace holds the shared spec throughout (the cache is weak: held by someone, it is never parsed again).
        $null = Get-BtfType -Name task_struct
        $spec = [BpfPS.Core.Btf.KernelBtf]::GetVmlinux()
        Import-BpfCollection -Path $coreFixture | Remove-BpfCollection        # warm-up: decodes what CO-RE needs
        $parsesBefore = (Get-BtfCache).ParseCount
        $snapshot = Get-SpecSnapshot $spec
        $fdsBefore = Get-OpenFdCount

        $clock = [Diagnostics.Stopwatch]::StartNew()
        $results = 1..8 | ForEach-Object -ThrottleLimit 8 -Parallel {
            Import-Module $using:ModulePath
            $failures = [Collections.Generic.List[string]]::new()
            for ($i = 0; $i -lt $using:loads; $i++) {
                try {
                    $collection = Import-BpfCollection -Path $using:coreFixture -ErrorAction Stop
                    if ($collection.Programs.Count -ne 1) { $failures.Add("load $i gave $($collection.Programs.Count) programs") }
                    Remove-BpfCollection $collection -ErrorAction Stop
                }
                catch { $failures.Add("runspace $_ load ${i}: $_") }
            }
            [pscustomobject]@{ Runspace = [runspace]::DefaultRunspace.Id; Failures = $failures; Left = @(Get-BpfCollection).Count }
        }
        $clock.Stop()
        $fdsAfter = Get-OpenFdCount
        Write-Host ("    {0} loads in 8 runspaces in {1:F1} s; fds {2} -> {3}; parse count {4} -> {5}" -f
            (8 * $loads), $clock.Elapsed.TotalSeconds, $fdsBefore, $fdsAfter, $parsesBefore, (Get-BtfCache).ParseCount)

        @($results).Count | Should -Be 8
        @($results | ForEach-Object Failures) | Should -BeNullOrEmpty
        @($results | Where-Object Left -NE 0) | Should -BeNullOrEmpty
        $fdsAfter | Should -Be $fdsBefore
        (Get-BtfCache).ParseCount | Should -Be $parsesBefore
        [object]::ReferenceEquals($spec, [BpfPS.Core.Btf.KernelBtf]::GetVmlinux()) | Should -BeTrue
        $after = Get-SpecSnapshot $spec
        Compare-Object $snapshot $after | Should -BeNullOrEmpty
    }
}

Describe 'Import-BpfCollection without capabilities' -Skip:(-not $canDrop) {
    It 'gives a PermissionDenied error record that says which capability is needed (setpriv drops them all)' {
        $script = Join-Path ([IO.Path]::GetTempPath()) "bpfps-unprivileged-$PID.ps1"
        Set-Content $script @"
Import-Module '$ModulePath'
`$core = try { [BpfPS.Core.Loading.Collection]::LoadFile('$coreFixture'); `$null } catch { `$_.Exception.InnerException }
Import-BpfCollection -Path '$coreFixture' -ErrorVariable failures -ErrorAction SilentlyContinue | Out-Null
`$record = `$failures[0]
[pscustomobject]@{
    CoreType = `$core.GetType().FullName; CorePermissionDenied = `$core.IsPermissionDenied; CoreMessage = `$core.Message
    Category = `$record.CategoryInfo.Category.ToString(); ErrorId = `$record.FullyQualifiedErrorId
    Details = `$record.ErrorDetails.Message; Recommendation = `$record.ErrorDetails.RecommendedAction
    Target = `$record.TargetObject
} | ConvertTo-Json -Compress
"@
        try {
            $output = & setpriv --inh-caps=-all --bounding-set=-all -- $PwshHost @PwshPrefix -NoProfile -NonInteractive -File $script
            $LASTEXITCODE | Should -Be 0
            $result = ($output -join "`n") | ConvertFrom-Json
        }
        finally { Remove-Item $script -ErrorAction Ignore }

        $result.CoreType | Should -Be 'BpfPS.Core.Loading.BpfLoadException'
        $result.CorePermissionDenied | Should -BeTrue
        $result.CoreMessage | Should -Match 'CAP_BPF'
        $result.Category | Should -Be 'PermissionDenied'
        $result.ErrorId | Should -BeLike 'BpfPermissionDenied*'
        $result.Recommendation | Should -Match 'CAP_BPF'
        "$($result.Details) $($result.Recommendation)" | Should -Match 'privileges|capabilit'
    }
}
