# struct_ops from PowerShell: the fixtures' TCP congestion controls (tests/fixtures/struct_ops_cc.c, registered by map
# update as 'bpfps_so_cc'; struct_ops_cc_link.c, registered by a link as 'bpfps_so_ccl') are registered by
# Import-BpfCollection, shown by Get-BpfCollection, and unregistered by Remove-BpfCollection and by closing the runspace.
BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $AvailableList = '/proc/sys/net/ipv4/tcp_available_congestion_control'
    $PlainObject = Join-Path $FixturesPath 'struct_ops_cc.o'
    $LinkObject = Join-Path $FixturesPath 'struct_ops_cc_link.o'
    $script:registeredMapIds = [Collections.Generic.List[uint32]]::new()

    function Test-Registered([string] $Name) {
        (Get-Content $AvailableList -Raw).Trim() -split '\s+' -contains $Name
    }

    # Unregistering is synchronous, but a link's release can trail its close by a moment.
    function Wait-Unregistered([string] $Name) {
        for ($i = 0; $i -lt 100; $i++) {
            if (-not (Test-Registered $Name)) { return $true }
            Start-Sleep -Milliseconds 50
        }
        $false
    }
}

AfterAll {
    Get-BpfCollection | Remove-BpfCollection
    # Last resort after a failure: unregister exactly the maps these tests registered, if still registered.
    foreach ($id in $script:registeredMapIds) {
        if ($Bpftool -and (Test-Registered 'bpfps_so_cc')) { & $Bpftool struct_ops unregister id $id 2>$null | Out-Null }
    }
}

Describe 'struct_ops congestion controls' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        Skip-Unless (Test-Path $PlainObject) 'the struct_ops fixtures are not built (build.ps1 fixtures)'
        Skip-Unless (Test-Path $AvailableList) "$AvailableList is missing (no TCP congestion control support)"
    }

    It 'registers by map update on import, shows it in Get-BpfCollection, unregisters on Remove-BpfCollection' {
        Test-Registered 'bpfps_so_cc' | Should -BeFalse -Because 'nothing else registers this name'
        $collection = Import-BpfCollection -Path $PlainObject
        try {
            $script:registeredMapIds.Add($collection.StructOps[0].MapId)
            Test-Registered 'bpfps_so_cc' | Should -BeTrue

            $shown = Get-BpfCollection -Id $collection.Id
            $shown.StructOps | Should -HaveCount 1
            $registration = $shown.StructOps[0]
            $registration.OpsName | Should -Be 'bpfps_so_cc'
            $registration.TypeName | Should -Be 'tcp_congestion_ops'
            $registration.Kind | Should -Be 'MapUpdate'
            $registration.IsRegistered | Should -BeTrue
            ($shown.StructOps | Out-String -Width 200) | Should -Match 'so_cc\s+\d+\s+tcp_congestion_ops\s+bpfps_so_cc\s+MapUpdate\s+-\s+Registered'
            $shown.Maps.so_cc.Type | Should -Be 'StructOps'
        }
        finally {
            Remove-BpfCollection $collection
        }
        $registration.IsRegistered | Should -BeFalse
        Wait-Unregistered 'bpfps_so_cc' | Should -BeTrue
    }

    It 'registers .struct_ops.link maps through a link that Remove-BpfCollection closes' {
        Test-Registered 'bpfps_so_ccl' | Should -BeFalse -Because 'nothing else registers this name'
        $collection = Import-BpfCollection -Path $LinkObject
        try {
            $registration = $collection.StructOps[0]
            $registration.Kind | Should -Be 'Link'
            $registration.LinkId | Should -BeGreaterThan 0
            Test-Registered 'bpfps_so_ccl' | Should -BeTrue
            if ($Bpftool) {
                $link = & $Bpftool link show id $registration.LinkId -j | ConvertFrom-Json
                $link.type | Should -Be 'struct_ops'
            }
        }
        finally {
            Remove-BpfCollection $collection
        }
        Wait-Unregistered 'bpfps_so_ccl' | Should -BeTrue
    }

    It 'fails with a BpfLoadFailed error naming the map when the name is taken, and keeps the first registration' {
        $first = Import-BpfCollection -Path $PlainObject
        $script:registeredMapIds.Add($first.StructOps[0].MapId)
        try {
            $second = Import-BpfCollection -Path $PlainObject -ErrorVariable err -ErrorAction SilentlyContinue
            $second | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'BpfLoadFailed,*'
            $err[0].Exception.ObjectName | Should -Be "map 'so_cc'"
            $err[0].Exception.Message | Should -Match "named 'bpfps_so_cc' is already registered"
            Test-Registered 'bpfps_so_cc' | Should -BeTrue
        }
        finally {
            Remove-BpfCollection $first
        }
        Wait-Unregistered 'bpfps_so_cc' | Should -BeTrue
    }

    It 'unregisters a map-update registration when the runspace that made it closes' {
        $ps = [powershell]::Create()
        try {
            $id = $ps.AddScript("Import-Module '$ModulePath'; (Import-BpfCollection '$PlainObject').StructOps[0].MapId").Invoke()[0]
            $script:registeredMapIds.Add($id)
            Test-Registered 'bpfps_so_cc' | Should -BeTrue
        }
        finally {
            $ps.Runspace.Close(); $ps.Dispose()
        }
        Wait-Unregistered 'bpfps_so_cc' | Should -BeTrue
    }

    It 'unregisters a map-update registration when a pwsh process exits without removing it' {
        $child = "Import-Module '$ModulePath'; `$c = Import-BpfCollection '$PlainObject'; " +
            "'{0} {1}' -f `$c.StructOps[0].MapId, ((Get-Content $AvailableList -Raw) -match '\bbpfps_so_cc\b'); exit 0"
        $mapId, $wasRegistered = (& $PwshHost @PwshPrefix -NoProfile -Command $child | Select-Object -Last 1) -split ' '
        $script:registeredMapIds.Add([uint32]$mapId)
        $wasRegistered | Should -Be 'True' -Because 'the child process registered it before exiting'
        Wait-Unregistered 'bpfps_so_cc' | Should -BeTrue
    }

    It 'unregisters at process exit even what no runspace tracks (a core Collection loaded directly)' {
        # Collection.LoadFile is the core API: no runspace owns the result, so only the process-exit handler can unregister it.
        $child = "Import-Module '$ModulePath'; `$c = [BpfPS.Core.Loading.Collection]::LoadFile('$PlainObject', `$null); " +
            "'{0} {1}' -f `$c.StructOps[0].MapId, ((Get-Content $AvailableList -Raw) -match '\bbpfps_so_cc\b'); exit 0"
        $mapId, $wasRegistered = (& $PwshHost @PwshPrefix -NoProfile -Command $child | Select-Object -Last 1) -split ' '
        $script:registeredMapIds.Add([uint32]$mapId)
        $wasRegistered | Should -Be 'True' -Because 'the child process registered it before exiting'
        Wait-Unregistered 'bpfps_so_cc' | Should -BeTrue
    }
}
