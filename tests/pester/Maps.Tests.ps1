# Map entries of tests/fixtures/map_values.c (struct values and keys, enums, per-CPU values) through the map cmdlets,
# and Clear-BpfMap. bpftool's dump of the kernel's bytes is the independent reference where installed.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $object = Join-Path $FixturesPath 'map_values.o'

    # A packet whose first byte is the key count_packets counts it under.
    function New-Packet([byte] $Key, [int] $Length = 64) {
        $packet = [byte[]]::new($Length); $packet[0] = $Key; $packet
    }

    # Every entry of a map as "keyhex=valuehex" lines, read by bpftool (not through BpfPS). The raw key and value arrays
    # are picked out of the JSON text: bpftool's BTF-formatted part beside them is not valid JSON for floats.
    function Get-KernelDump([uint32] $MapId) {
        $json = (& $Bpftool map dump id $MapId -j) -join ''
        $hex = { param($list) ([regex]::Matches($list, '0x([0-9a-f]{2})') | ForEach-Object { $_.Groups[1].Value }) -join '' }
        @([regex]::Matches($json, '"key":\[([^\]]*)\],"value":\[([^\]]*)\]') |
            ForEach-Object { (& $hex $_.Groups[1].Value) + '=' + (& $hex $_.Groups[2].Value) } | Sort-Object)
    }
}

Describe 'Map entries of map_values.o' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        if ($c) { Remove-BpfCollection $c }
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

    It 'writes a struct key and value from hashtables, as the kernel sees them' {
        Skip-Unless $Bpftool $NeedsBpftool
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

    It 'refuses a bad key or value with InvalidArgument and leaves the map unchanged' {
        Skip-Unless $Bpftool $NeedsBpftool
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

Describe 'Map entries as PowerShell objects' {
    BeforeAll {
        $pinDir = "/sys/fs/bpf/bpfps-pester-entries-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
    }
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        if ($c) { Remove-BpfCollection $c }
        if (Test-Path $pinDir) { Remove-Item $pinDir -Recurse -Force }
    }

    It 'outputs a struct value as a PSCustomObject whose properties are the members in declaration order' {
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 9) | Out-Null
        $entry = Get-BpfMapEntry $c.Maps['stats'] 9
        $entry.Value | Should -BeOfType [System.Management.Automation.PSCustomObject]
        # struct packet_stats { packets; bytes; last_len; tag } in map_values.c.
        $entry.Value.psobject.Properties.Name | Should -Be @('packets', 'bytes', 'last_len', 'tag')
        $entry.MapId | Should -Be $c.Maps['stats'].Id
        ($c.Maps['stats'] | Get-BpfMapEntry | Where-Object { $_.Value.packets -gt 0 }).Key | Should -Be 9
        ($entry | Format-Table | Out-String -Width 80) | Should -Match '\{packets=1, bytes=64, last_len=64, tag=new\}'
    }

    It 'outputs nested structs as nested objects and arrays as arrays' {
        # The initializer of .data.sample in map_values.c is the reference.
        $sample = (Get-BpfMapEntry -Collection $c -Name .data.sample).Value.sample
        $sample.f | Should -BeOfType [System.Management.Automation.PSCustomObject]
        $sample.f.tint | Should -Be 'BLUE'
        $sample.f.delta | Should -Be -3
        $sample.pair.hi | Should -Be 65535
        $sample.history | Should -Be @(-1, 0, 32767)
        $sample.matrix[1][0] | Should -Be -3
        $sample.word | Should -Be 0x04030201
    }

    It 'writes a PSCustomObject key and value, as the kernel sees them' {
        Skip-Unless $Bpftool $NeedsBpftool
        Set-BpfMapEntry $c.Maps['flows'] -Key ([pscustomobject]@{ addr = 0x0100007f; port = 8080; proto = 6 }) -Value 77
        Set-BpfMapEntry $c.Maps['stats'] -Key 1 -Value ([pscustomobject]@{ packets = 2; bytes = 0x0102; tag = 'ab' })
        # struct flow_key { u32 addr; u16 port; u8 proto; u8 pad; } -> u64; little-endian.
        Get-KernelDump $c.Maps['flows'].Id | Should -Be @('7f000001901f0600=4d00000000000000')
        # struct packet_stats { u64 packets; u64 bytes; u32 last_len; char tag[8]; } plus 4 bytes of tail padding.
        Get-KernelDump $c.Maps['stats'].Id | Should -Be @('01000000=' + '0200000000000000' + '0201000000000000' + '00000000' + '6162000000000000' + '00000000')
    }

    It 'takes PSCustomObjects nested in hashtables and arrays' {
        $history = [object[]]([psobject]4, [psobject]5, 6)   # elements wrapped in PSObject, as pipeline output often is
        Set-BpfMapEntry $c.Maps['.data.sample'] -Key 0 -Value @{ sample = [pscustomobject]@{ pair = [pscustomobject]@{ lo = 1; hi = 2 }; history = $history } }
        $sample = (Get-BpfMapEntry $c.Maps['.data.sample'] 0).Value.sample
        $sample.pair.lo | Should -Be 1
        $sample.pair.hi | Should -Be 2
        $sample.history | Should -Be @(4, 5, 6)
        $sample.port | Should -Be 0   # members left out are zero
    }

    It 'writes back an unchanged entry without changing a byte' {
        Skip-Unless $Bpftool $NeedsBpftool
        # Bitfields, an anonymous union, floats, a pointer and nested arrays all make the trip through PSCustomObjects.
        $before = Get-KernelDump $c.Maps['.data.sample'].Id
        $entry = Get-BpfMapEntry $c.Maps['.data.sample']
        Clear-BpfMap $c.Maps['.data.sample']
        Get-KernelDump $c.Maps['.data.sample'].Id | Should -Not -Be $before
        $entry | Set-BpfMapEntry
        Get-KernelDump $c.Maps['.data.sample'].Id | Should -Be $before
    }

    It 'writes back changed entries piped from Get-BpfMapEntry' {
        1..3 | ForEach-Object { Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 7) } | Out-Null
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 8) | Out-Null
        $c.Maps['stats'] | Get-BpfMapEntry | ForEach-Object { $_.Value.packets *= 10; $_ } | Set-BpfMapEntry -Map $c.Maps['stats']
        (Get-BpfMapEntry $c.Maps['stats'] 7).Value.packets | Should -Be 30
        (Get-BpfMapEntry $c.Maps['stats'] 8).Value.packets | Should -Be 10
        (Get-BpfMapEntry $c.Maps['stats'] 7).Value.tag | Should -Be 'new'   # the other members written back as read
    }

    It 'copies per-CPU values, one per CPU, from one key to another' {
        1..4 | ForEach-Object { Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 1) } | Out-Null
        $hits = Get-BpfMapEntry $c.Maps['percpu_hits'] 0
        Set-BpfMapEntry $c.Maps['percpu_hits'] -Key 1 -Value $hits.Value
        $copy = (Get-BpfMapEntry $c.Maps['percpu_hits'] 1).Value
        $copy.Count | Should -Be $hits.Value.Count
        ($copy | Measure-Object -Sum).Sum | Should -Be 4
        "$copy" | Should -Be "$($hits.Value)"
    }

    It 'deletes the entries piped from Get-BpfMapEntry' {
        1..4 | ForEach-Object { Set-BpfMapEntry $c.Maps['stats'] -Key $_ -Value @{ packets = $_ } }
        Get-BpfMapEntry $c.Maps['stats'] | Where-Object { $_.Value.packets -ge 3 } | Remove-BpfMapEntry
        @(Get-BpfMapEntry $c.Maps['stats'] | ForEach-Object Key | Sort-Object) | Should -Be @(1, 2)
    }

    It 'reads, writes and deletes through a map from Get-BpfMap, a map id and a loaded map''s name' {
        Set-BpfMapEntry (Get-BpfMap -Id $c.Maps['stats'].Id) -Key 5 -Value @{ packets = 50 }
        Set-BpfMapEntry $c.Maps['stats'].Id -Key 6 -Value @{ packets = 60 }
        Set-BpfMapEntry stats -Key 7 -Value @{ packets = 70 }
        (Get-BpfMap -Id $c.Maps['stats'].Id | Get-BpfMapEntry -Key 5).Value.packets | Should -Be 50
        (Get-BpfMapEntry $c.Maps['stats'].Id 6).Value.packets | Should -Be 60
        (Get-BpfMapEntry stats 7).Value.packets | Should -Be 70
        (Get-BpfMapEntry stats 7).Map | Should -Be 'stats'
        Remove-BpfMapEntry $c.Maps['stats'].Id -Key 5, 6
        @(Get-BpfMapEntry $c.Maps['stats']).Key | Should -Be @(7)
    }

    It 'reads and writes a pinned map by path in a fresh runspace, decoded by the BTF it was created with' {
        Skip-Unless $BpffsMounted $NeedsBpffs
        Invoke-BpfProgram $c.Programs.count_packets -Data (New-Packet 9) -Repeat 3 | Out-Null
        $path = "$pinDir/stats"
        Add-BpfPin $c.Maps['stats'] -Path $path | Out-Null
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript({
                    param($ModulePath, $Path)
                    Import-Module $ModulePath
                    $entry = Get-BpfMapEntry $Path 9
                    $entry.Value.packets += 1
                    $entry | Set-BpfMapEntry -Map $Path
                    Set-BpfMapEntry $Path -Key 10 -Value ([pscustomobject]@{ tag = 'pinned' })
                    $entry
                }).AddArgument($ModulePath).AddArgument($path)
            $seen = $ps.Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
        }
        finally {
            $ps.Dispose()
        }
        $seen.Map | Should -Be 'stats'
        $seen.Value.packets | Should -Be 4
        $seen.Value.tag | Should -Be 'new'
        (Get-BpfMapEntry $c.Maps['stats'] 9).Value.packets | Should -Be 4
        (Get-BpfMapEntry $c.Maps['stats'] 10).Value.tag | Should -Be 'pinned'
    }

    It 'refuses a PSCustomObject member the struct does not have, naming it' {
        Set-BpfMapEntry $c.Maps['stats'] -Key 1 -Value ([pscustomobject]@{ packets = 1; nope = 2 }) -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match "value\.nope: struct packet_stats has no member 'nope'"
        @(Get-BpfMapEntry $c.Maps['stats']).Count | Should -Be 0
    }
}

Describe 'Clear-BpfMap' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        if ($c) { Remove-BpfCollection $c }
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
