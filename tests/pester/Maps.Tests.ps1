# Map entries of tests/fixtures/map_values.c (struct values and keys, enums, per-CPU values) through the map cmdlets,
# and Clear-BpfMap. bpftool's dump of the kernel's bytes is the independent reference where installed.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    $canLoad = $IsRoot
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $object = Join-Path $FixturesPath 'map_values.o'

    # A packet whose first byte is the key count_packets counts it under.
    function New-Packet([byte] $Key, [int] $Length = 64) {
        $packet = [byte[]]::new($Length); $packet[0] = $Key; $packet
    }

    # Every entry of a map as "keyhex=valuehex" lines, read by bpftool (not through BpfPS).
    function Get-KernelDump([uint32] $MapId) {
        $entries = & $Bpftool map dump id $MapId -j | ConvertFrom-Json
        @($entries | ForEach-Object { (($_.key -replace '^0x') -join '') + '=' + (($_.value -replace '^0x') -join '') } | Sort-Object)
    }
}

Describe 'Map entries of map_values.o' -Skip:(-not $canLoad) {
    BeforeEach {
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        Remove-BpfCollection $c
    }

    It 'reads what the program wrote, as objects with named members' {
        1..2 | ForEach-Object { Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 9) } | Out-Null
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 4 -Length 200) | Out-Null

        $entries = $c.Maps['stats'] | Get-BpfMapEntry
        $entries.Count | Should -Be 2
        $nine = $entries | Where-Object Key -EQ 9
        $nine.Value.packets | Should -Be 2
        $nine.Value.bytes | Should -Be 128
        $nine.Value.last_len | Should -Be 64
        $nine.Value.tag | Should -Be 'new'
        ($entries | Sort-Object { $_.Value.bytes } -Descending | Select-Object -First 1).Key | Should -Be 4
    }

    It 'sums per-CPU values across the CPUs' {
        1..5 | ForEach-Object { Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 1) } | Out-Null
        $perCpu = (Get-BpfMapEntry $c.Maps['percpu_hits'] 0).Value
        $perCpu.Count | Should -Be ([int](Get-Content /sys/devices/system/cpu/possible | ForEach-Object { ($_ -split '[-,]')[-1] }) + 1)
        ($perCpu | Measure-Object -Sum).Sum | Should -Be 5
    }

    It 'writes a struct key and value from hashtables, as the kernel sees them' -Skip:(-not $Bpftool) {
        Set-BpfMapEntry $c.Maps['flows'] -Key @{ addr = 0x0100007f; port = 8080; proto = 6 } -Value 77
        # struct flow_key { u32 addr; u16 port; u8 proto; u8 pad; }, little-endian; value u64 77.
        Get-KernelDump $c.Maps['flows'].Id | Should -Be @('7f000001901f0600=4d00000000000000')
        $entry = $c.Maps['flows'] | Get-BpfMapEntry
        $entry.Key.port | Should -Be 8080
        $entry.Key.proto | Should -Be 6
        $entry.Value | Should -Be 77
    }

    It 'takes enum values by name and shows them by name' {
        Set-BpfMapEntry $c.Maps['colors'] -Key 2 -Value 'BLUE'
        (Get-BpfMapEntry $c.Maps['colors'] 2).Value | Should -Be 'BLUE'
        (Get-BpfMapEntry $c.Maps['colors'] 0).Value | Should -Be 0   # 0 is no enumerator of enum color
    }

    It 'copies a whole entry back through the pipeline' {
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 3) | Out-Null
        $entry = Get-BpfMapEntry $c.Maps['stats'] 3
        Set-BpfMapEntry $c.Maps['stats'] -Key 30 -Value $entry.Value
        (Get-BpfMapEntry $c.Maps['stats'] 30).Value.tag | Should -Be 'new'
        (Get-BpfMapEntry $c.Maps['stats'] 30).Value.bytes | Should -Be 64
    }

    It 'refuses a bad key or value with InvalidArgument and leaves the map unchanged' -Skip:(-not $Bpftool) {
        Set-BpfMapEntry $c.Maps['flows'] -Key @{ addr = 1 } -Value 1
        $before = Get-KernelDump $c.Maps['flows'].Id

        Set-BpfMapEntry $c.Maps['flows'] -Key @{ adr = 1 } -Value 2 -ErrorVariable unknown -ErrorAction SilentlyContinue
        Set-BpfMapEntry $c.Maps['flows'] -Key @{ addr = 1; port = 70000 } -Value 2 -ErrorVariable range -ErrorAction SilentlyContinue
        Set-BpfMapEntry $c.Maps['stats'] -Key 1 -Value @{ tag = 'much too long' } -ErrorVariable long -ErrorAction SilentlyContinue

        $unknown[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $unknown[0].Exception.Message | Should -Match "key\.adr: struct flow_key has no member 'adr'"
        $range[0].Exception.Message | Should -Match 'key\.port: 70000 is out of range'
        $long[0].Exception.Message | Should -Match 'value\.tag: string of 13 bytes does not fit char\[8\]'
        Get-KernelDump $c.Maps['flows'].Id | Should -Be $before
        Get-KernelDump $c.Maps['stats'].Id | Should -BeNullOrEmpty
    }
}

Describe 'Clear-BpfMap' -Skip:(-not $canLoad) {
    BeforeEach {
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        Remove-BpfCollection $c
    }

    It 'deletes every key of a hash map and says how many' {
        1..6 | ForEach-Object { Set-BpfMapEntry $c.Maps['stats'] -Key $_ -Value @{ packets = $_ } }
        Clear-BpfMap $c.Maps['stats'] -PassThru | Should -Be 6
        @($c.Maps['stats'] | Get-BpfMapEntry).Count | Should -Be 0
    }

    It 'zeroes an array map, whose entries cannot be deleted' {
        0..3 | ForEach-Object { Set-BpfMapEntry $c.Maps['colors'] -Key $_ -Value 'GREEN' }
        Clear-BpfMap -Collection $c -Name colors -PassThru | Should -Be 4
        $values = ($c.Maps['colors'] | Get-BpfMapEntry).Value
        $values.Count | Should -Be 4
        $values | ForEach-Object { $_ | Should -Be 0 }
    }

    It 'changes nothing with -WhatIf' {
        Set-BpfMapEntry $c.Maps['stats'] -Key 5 -Value @{ packets = 1 }
        Clear-BpfMap $c.Maps['stats'] -WhatIf
        (Get-BpfMapEntry $c.Maps['stats'] 5).Value.packets | Should -Be 1
    }

    It 'clears a map found by Get-BpfMap, by its id' {
        Set-BpfMapEntry $c.Maps['flows'] -Key @{ addr = 9 } -Value 1
        Get-BpfMap -Id $c.Maps['flows'].Id | Clear-BpfMap
        @($c.Maps['flows'] | Get-BpfMapEntry).Count | Should -Be 0
    }

    It 'reports a map name no loaded collection has as ObjectNotFound' {
        Clear-BpfMap 'no_such_map' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Clear-BpfMap -Collection $c -Name 'no_such_map' -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'reports a removed collection''s map as InvalidOperation' {
        $map = $c.Maps['stats']
        Remove-BpfCollection $c
        Clear-BpfMap $map -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $c = Import-BpfCollection -Path $object   # for AfterEach
    }
}
