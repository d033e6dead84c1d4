BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $script:BpftoolReport = if ($Bpftool -and $IsRoot) { (& $Bpftool feature probe kernel -j) -join "`n" | ConvertFrom-Json }
}

Describe 'Get-BpfFeature' {
    BeforeEach { Skip-Unless $IsRoot $NeedsRoot }

    It 'reports the program types bpftool reports, with the same verdicts' {
        Skip-Unless $Bpftool $NeedsBpftool
        $mine = @{}
        Get-BpfFeature -Category ProgramType | ForEach-Object { $mine[$_.Name] = $_ }
        $compared = 0
        foreach ($p in $BpftoolReport.program_types.PSObject.Properties) {
            $name = $p.Name -replace '^have_', '' -replace '_prog_type$', ''
            $mine[$name] | Should -Not -BeNullOrEmpty -Because "bpftool knows program type $name"
            $mine[$name].Supported | Should -Be $p.Value -Because "$name ($($mine[$name].Detail))"
            $compared++
        }
        $compared | Should -BeGreaterThan 20
    }

    It 'reports the map types bpftool reports, with the same verdicts' {
        Skip-Unless $Bpftool $NeedsBpftool
        $mine = @{}
        Get-BpfFeature -Category MapType | ForEach-Object { $mine[$_.Name] = $_ }
        foreach ($p in $BpftoolReport.map_types.PSObject.Properties) {
            $name = $p.Name -replace '^have_', '' -replace '_map_type$', ''
            $mine[$name].Supported | Should -Be $p.Value -Because "$name ($($mine[$name].Detail))"
        }
    }

    It 'filters by name with wildcards, by category and by program type' {
        $xdp = @(Get-BpfFeature -Name xdp -Category ProgramType)
        $xdp.Count | Should -Be 1
        $xdp[0].Category | Should -Be 'ProgramType'
        $xdp[0].Supported | Should -BeTrue

        $helpers = @(Get-BpfFeature -Category Helper -ProgramType xdp -Name 'bpf_xdp_*')
        $helpers.Count | Should -BeGreaterThan 1
        $helpers.ProgramType | Sort-Object -Unique | Should -Be 'xdp'
        $helpers.Name | ForEach-Object { $_ | Should -BeLike 'bpf_xdp_*' }
        ($helpers | Where-Object Name -EQ bpf_xdp_adjust_head).Supported | Should -BeTrue
        (Get-BpfFeature -Category Helper -ProgramType socket_filter -Name bpf_xdp_adjust_head).Supported | Should -BeFalse

        $byType = @(Get-BpfFeature -ProgramType cgroup_sockopt)
        $byType.Category | Sort-Object -Unique | Should -Be @('AttachType', 'Helper') -Because '-ProgramType alone means helpers and attach types'
        $byType.ProgramType | Sort-Object -Unique | Should -Be 'cgroup_sockopt'

        $all = @(Get-BpfFeature -Category Mount, SystemConfig)
        $all.Category | Sort-Object -Unique | Should -Be @('SystemConfig', 'Mount') -Because 'only the asked categories'
        @(Get-BpfFeature -Category Mount -Supported).Supported | Should -Not -Contain $false
    }

    It 'reads the sysctls bpftool reads' {
        Skip-Unless $Bpftool $NeedsBpftool
        foreach ($name in 'bpf_jit_enable', 'bpf_jit_harden', 'bpf_jit_kallsyms', 'unprivileged_bpf_disabled') {
            $expected = $BpftoolReport.system_config.$name
            if ($null -eq $expected) { continue }
            (Get-BpfFeature -Category SystemConfig -Name $name).Value | Should -Be "$expected"
        }
    }

    It 'says where cgroup2 and bpffs are, as /proc/mounts does' {
        $cgroup2 = Get-BpfFeature -Category Mount -Name cgroup2
        $expected = @(Get-Content /proc/mounts | ForEach-Object { $f = $_ -split ' '; if ($f[2] -eq 'cgroup2') { $f[1] } })
        $cgroup2.Supported | Should -Be ($expected.Count -gt 0)
        if ($expected) { $cgroup2.Value -split ', ' | Should -Be $expected }
    }

    It 'reports what bpftool 7.1 is too old to know' {
        $newer = @(Get-BpfFeature -Name tcx, uprobe_multi, netfilter, netkit, bpf_token, cgroup_unix_connect, v4_isa_extension)
        $newer.Name | Should -Contain 'tcx'
        $newer.Name | Should -Contain 'bpf_token'
        $newer | ForEach-Object { $_.Detail | Should -Not -BeNullOrEmpty }
        # Whatever the verdict, the evidence names the kernel's answer.
        ($newer | Where-Object Category -EQ LinkType).Detail | ForEach-Object { $_ | Should -Match 'BPF_LINK_CREATE' }
    }

    It 'writes an error for a name that matches nothing, and still reports the others' {
        $found = @(Get-BpfFeature -Name xdp, no_such_feature_anywhere -Category ProgramType -ErrorVariable err -ErrorAction SilentlyContinue)
        $found.Name | Should -Be 'xdp'
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'BpfFeatureNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'no_such_feature_anywhere'
    }

    It 'probes once per runspace: a second query runs no new probe' {
        $null = Get-BpfFeature -Category ProgramType, MapType
        $set = [BpfPS.Core.Features.KernelFeatureSet]::Shared
        $before = $set.ProbeCount
        $again = @(Get-BpfFeature -Category ProgramType, MapType)
        [BpfPS.Core.Features.KernelFeatureSet]::Shared.ProbeCount | Should -Be $before
        $again.Count | Should -BeGreaterThan 50
        $before | Should -BeGreaterOrEqual $again.Count -Because 'every answer shown was probed once and remembered'
    }

    It 'without capabilities, warns and answers no with the kernel''s EPERM rather than failing' {
        Skip-Unless (Get-Command setpriv -ErrorAction Ignore) 'setpriv is not installed'
        $script = Join-Path ([IO.Path]::GetTempPath()) "bpfps-features-unprivileged-$PID.ps1"
        Set-Content $script @"
Import-Module '$ModulePath'
`$f = Get-BpfFeature -Name xdp -Category ProgramType -WarningVariable w -WarningAction SilentlyContinue
`$s = Get-BpfFeature -Name bpf_jit_enable -Category SystemConfig -WarningAction SilentlyContinue
[pscustomobject]@{ Supported = `$f.Supported; Detail = `$f.Detail; Warning = "`$w"; Jit = `$s.Value } | ConvertTo-Json -Compress
"@
        try {
            $output = & setpriv --inh-caps=-all --bounding-set=-all -- $PwshHost @PwshPrefix -NoProfile -NonInteractive -File $script
            $LASTEXITCODE | Should -Be 0
            $result = ($output -join "`n") | ConvertFrom-Json
        }
        finally { Remove-Item $script -ErrorAction Ignore }
        $result.Supported | Should -BeFalse
        $result.Detail | Should -Match 'EPERM'
        $result.Warning | Should -Match 'bpf\(\) is not usable'
        $result.Jit | Should -Be (Get-Content /proc/sys/net/core/bpf_jit_enable) -Because 'settings are read, not probed'
    }

    It 'lets the answers go on Remove-Module: the next query probes afresh' {
        $null = Get-BpfFeature -Name xdp -Category ProgramType
        $created = [BpfPS.Core.Features.KernelFeatureSet]::SharedCreatedCount
        Remove-Module BpfPS
        try {
            [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
        }
        finally { Import-Module $ModulePath -Force }
        $null = Get-BpfFeature -Name xdp -Category ProgramType
        [BpfPS.Core.Features.KernelFeatureSet]::SharedCreatedCount | Should -Be ($created + 1)
    }

    It 'shows a table with the category, program type, name, verdict and evidence' {
        $text = Get-BpfFeature -Category ProgramType -Name socket_filter | Out-String -Width 200
        $text | Should -Match 'Category\s+ProgramType\s+Name\s+Supported\s+Detail'
        $text | Should -Match 'ProgramType\s+socket_filter\s+True\s+a minimal socket_filter program loads'
        $deserialized = [System.Management.Automation.PSSerializer]::Deserialize([System.Management.Automation.PSSerializer]::Serialize((Get-BpfFeature -Category ProgramType -Name xdp)))
        ($deserialized | Out-String -Width 200) | Should -Match 'ProgramType\s+xdp\s+True'
    }
}
