# Get-BpfProgram / Get-BpfMap list the whole kernel; the pin cmdlets pin, find, reopen (in a new runspace) and unpin.
# bpftool is the independent reference where installed. Pins go in a fresh directory under /sys/fs/bpf, removed after.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    $canLoad = $IsRoot
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $object = Join-Path $FixturesPath 'map_values.o'
    function New-Packet([byte] $Key) { $packet = [byte[]]::new(64); $packet[0] = $Key; $packet }
}

Describe 'Get-BpfProgram and Get-BpfMap' -Skip:(-not $canLoad) {
    BeforeAll {
        $c = Import-BpfCollection -Path $object
        $program = $c.Programs.count_packets
    }
    AfterAll {
        Remove-BpfCollection $c
    }

    It 'lists the program just loaded among every program in the kernel' {
        $listed = Get-BpfProgram | Where-Object Id -EQ $program.Id
        $listed.Name | Should -Be 'count_packets'
        $listed.Type | Should -Be 'Xdp'
        $listed.Tag | Should -Be $program.Tag
        $listed.LoadedAt | Should -BeGreaterThan (Get-Date).AddMinutes(-5)
        $listed.LoadedAt | Should -BeLessOrEqual (Get-Date).AddSeconds(1)
        @($listed.MapIds) | Should -Contain $c.Maps['stats'].Id
    }

    It 'agrees with bpftool prog show' -Skip:(-not $Bpftool) {
        $kernel = & $Bpftool prog show id $program.Id -j | ConvertFrom-Json
        $listed = Get-BpfProgram -Id $program.Id
        $listed.Tag | Should -Be $kernel.tag
        $listed.Name | Should -Be $kernel.name
        [DateTimeOffset]::new($listed.LoadedAt).ToUnixTimeSeconds() | Should -BeIn (($kernel.loaded_at - 1)..($kernel.loaded_at + 1))
        @($listed.MapIds | Sort-Object) | Should -Be @($kernel.map_ids | Sort-Object)
    }

    It 'finds programs by name with wildcards, by type, and from the collection or its programs' {
        (Get-BpfProgram -Name 'count_pack*').Id | Should -Contain $program.Id
        (Get-BpfProgram -Type Xdp).Id | Should -Contain $program.Id
        (Get-BpfProgram -Type SocketFilter).Id | Should -Not -Contain $program.Id
        ($c | Get-BpfProgram).Id | Should -Be $program.Id
        ($c.Programs.Values | Get-BpfProgram).Id | Should -Be $program.Id
    }

    It 'counts runs while statistics are enabled' {
        # BPF_ENABLE_STATS: counting lasts while this descriptor is open (no system setting left behind).
        $stats = [BpfPS.Core.Kernel.BpfSyscall]::EnableStats([BpfPS.Core.Kernel.BpfStatsType]::RunTime)
        try {
            Invoke-BpfProgram $program -Data (New-Packet 1) -Repeat 20 | Out-Null
        }
        finally {
            $stats.Dispose()
        }
        $listed = Get-BpfProgram -Id $program.Id
        $listed.RunCount | Should -BeGreaterOrEqual 20
        $listed.RunTime | Should -BeGreaterThan ([TimeSpan]::Zero)
        $listed.AverageRunTime | Should -Be ($listed.RunTime / $listed.RunCount)
    }

    It 'lists the collection''s maps as the kernel reports them' {
        $maps = Get-BpfMap -Collection $c
        $maps.Id | Should -Be @($c.Maps.Values.Id)
        $stats = $maps | Where-Object Name -EQ 'stats'
        $stats.Type | Should -Be 'Hash'
        $stats.KeySize | Should -Be 4
        $stats.ValueSize | Should -Be 32
        $stats.MaxEntries | Should -Be 64
        $stats.BtfId | Should -Be $c.Collection.BtfId
        (Get-BpfMap -Name stats -Type Hash).Id | Should -Contain $stats.Id
        (Get-BpfMap -Id (Get-BpfProgram -Id $program.Id).MapIds).Name | Should -Contain 'percpu_hits'
    }

    It 'agrees with bpftool map show' -Skip:(-not $Bpftool) {
        $map = $c.Maps['flows']
        $kernel = & $Bpftool map show id $map.Id -j | ConvertFrom-Json
        $listed = Get-BpfMap -Id $map.Id
        $listed.Name | Should -Be $kernel.name
        $listed.KeySize | Should -Be $kernel.bytes_key
        $listed.ValueSize | Should -Be $kernel.bytes_value
        $listed.MaxEntries | Should -Be $kernel.max_entries
        $listed.BtfId | Should -Be $kernel.btf_id
    }

    It 'reports unknown ids and names as ObjectNotFound' {
        Get-BpfProgram -Id ([uint32]::MaxValue) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-BpfMap -Name 'no_such_map_name' -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Get-BpfMap -Name 'no_such_*' -ErrorVariable err3 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err3.Count | Should -Be 0
    }

    It 'reports missing privileges as PermissionDenied' {
        # The kernel layer's fault injection answers bpf() with EPERM, as for an unprivileged user.
        $scope = [BpfPS.Core.Kernel.BpfFaultInjection]::FailFrom([BpfPS.Core.Kernel.BpfCommand]::ProgGetNextId, 1, 1)
        try {
            { Get-BpfProgram -ErrorAction Stop } | Should -Throw -ErrorId 'BpfPermissionDenied,*'
            $caught = $null
            try { Get-BpfProgram } catch { $caught = $_ }
            $caught.CategoryInfo.Category | Should -Be 'PermissionDenied'
            $caught.ErrorDetails.RecommendedAction | Should -Match 'root'   # says what to do about it
        }
        finally {
            $scope.Dispose()
        }
    }

    It 'shows programs and maps in tables with their ids first' {
        $lines = (Get-BpfProgram -Id $program.Id | Out-String -Width 200) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines[0] | Should -Match '^\s*Id\s+Type\s+Name\s+Tag\s+LoadedAt\s+Runs\s+Maps\s+Pinned\s*$'
        $lines[2] | Should -Match "^\s*$($program.Id)\s+Xdp\s+count_packets\s+$($program.Tag)\s"
        $mapLines = (Get-BpfMap -Id $c.Maps['stats'].Id | Out-String -Width 200) -split "`r?`n" | Where-Object { $_.Trim() }
        $mapLines[0] | Should -Match '^\s*Id\s+Type\s+Name\s+KeySize\s+ValueSize\s+MaxEntries\s+BtfId\s+Pinned\s*$'
        $mapLines[2] | Should -Match "^\s*$($c.Maps['stats'].Id)\s+Hash\s+stats\s+4\s+32\s+64\s"
    }
}

Describe 'Pins' -Skip:(-not $canLoad) {
    BeforeAll {
        $dir = "/sys/fs/bpf/bpfps-pester-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    }
    BeforeEach {
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        Remove-BpfCollection $c
        if (Test-Path $dir) { Remove-Item $dir -Recurse -Force }
    }

    It 'pins a map, finds it, reopens it in a new runspace after the collection is gone, and unpins it' {
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 9) -Repeat 3 | Out-Null
        $mapId = $c.Maps['stats'].Id
        $path = "$dir/app/stats"

        $pin = Add-BpfPin $c.Maps['stats'] -Path $path
        $pin.Path | Should -Be $path
        $pin.Kind | Should -Be 'Map'
        $pin.Id | Should -Be $mapId
        $pin.Name | Should -Be 'stats'
        (Get-BpfPin $dir).Path | Should -Be @($path)
        (Get-BpfMap -Id $mapId).PinnedPaths | Should -Be @($path)
        if ($Bpftool) { (& $Bpftool map show pinned $path -j | ConvertFrom-Json).id | Should -Be $mapId }

        Remove-BpfCollection $c

        # A new runspace: only the pin holds the map now.
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($ModulePath, $Path)
                    Import-Module $ModulePath
                    $map = Get-BpfMap -Pinned $Path
                    $pinned = [BpfPS.Core.Inventory.BpfPins]::Open($Path)
                    try { $value = [BpfPS.Core.Maps.MapEntries]::Open($pinned.Fd).Get(9) }
                    finally { $pinned.Dispose() }
                    [pscustomobject]@{ Id = $map.Id; Name = $map.Name; Packets = $value['packets'] }
                }).AddArgument($ModulePath).AddArgument($path)
            $seen = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
        }
        finally {
            $ps.Dispose()
        }
        $seen.Id | Should -Be $mapId
        $seen.Name | Should -Be 'stats'
        $seen.Packets | Should -Be 3

        Remove-BpfPin $path
        Test-Path $path | Should -BeFalse
        $c = Import-BpfCollection -Path $object   # for AfterEach
    }

    It 'pins a program by name and lists it with Get-BpfProgram' {
        $path = "$dir/prog"
        Add-BpfPin -Program count_packets -Path $path | Out-Null
        (Get-BpfProgram -Pinned $path).Id | Should -Be $c.Programs.count_packets.Id
        (Get-BpfProgram -Id $c.Programs.count_packets.Id).PinnedPaths | Should -Be @($path)
        (Get-BpfPin $dir -Kind Program).Name | Should -Be 'count_packets'
        Get-BpfPin $dir -Kind Map | Should -BeNullOrEmpty
        Get-BpfPin $dir | Remove-BpfPin
        Get-BpfPin $dir | Should -BeNullOrEmpty
    }

    It 'does nothing with -WhatIf' {
        Add-BpfPin $c.Maps['flows'] -Path "$dir/flows" -WhatIf
        Test-Path "$dir/flows" | Should -BeFalse
        Add-BpfPin $c.Maps['flows'] -Path "$dir/flows" | Out-Null
        Remove-BpfPin "$dir/flows" -WhatIf
        Test-Path "$dir/flows" | Should -BeTrue
        Get-BpfMap -Pinned "$dir/flows" | Remove-BpfPin
        Test-Path "$dir/flows" | Should -BeFalse
    }

    It 'refuses a second pin at the same path as ResourceExists' {
        Add-BpfPin $c.Maps['flows'] -Path "$dir/flows" | Out-Null
        Add-BpfPin $c.Maps['colors'] -Path "$dir/flows" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Get-BpfMap -Pinned "$dir/flows").Name | Should -Be 'flows'
    }

    It 'refuses paths that are not on a bpf filesystem, and leaves ordinary files alone' {
        $tmp = Join-Path ([IO.Path]::GetTempPath()) "bpfps-not-a-pin-$PID"
        Add-BpfPin $c.Maps['flows'] -Path $tmp -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match 'not on a bpf filesystem'
        Test-Path $tmp | Should -BeFalse

        Set-Content $tmp 'ordinary file'
        try {
            Remove-BpfPin $tmp -ErrorVariable err2 -ErrorAction SilentlyContinue
            $err2[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            Test-Path $tmp | Should -BeTrue
        }
        finally {
            Remove-Item $tmp
        }
    }

    It 'reports a refused pin as PermissionDenied' {
        $scope = [BpfPS.Core.Kernel.BpfFaultInjection]::FailFrom([BpfPS.Core.Kernel.BpfCommand]::ObjPin, 1, 1)
        try {
            Add-BpfPin $c.Maps['flows'] -Path "$dir/flows" -ErrorVariable err -ErrorAction SilentlyContinue
        }
        finally {
            $scope.Dispose()
        }
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        Test-Path "$dir/flows" | Should -BeFalse
    }

    It 'reports a stale pin as ObjectNotFound' {
        Add-BpfPin $c.Maps['colors'] -Path "$dir/colors" | Out-Null
        Remove-BpfPin "$dir/colors"
        Get-BpfMap -Pinned "$dir/colors" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Remove-BpfPin -LiteralPath "$dir/colors" -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'refuses to open a program pin as a map' {
        Add-BpfPin $c.Programs.count_packets -Path "$dir/prog" | Out-Null
        Get-BpfMap -Pinned "$dir/prog" -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidType'
        $err[0].Exception.Message | Should -Match 'holds a program, not a map'
        Get-BpfMap -Pinned "$dir/*" | Should -BeNullOrEmpty   # a wildcard skips pins of other kinds
    }
}
