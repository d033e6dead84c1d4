BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    function New-Frame([uint16] $EtherType) {
        $frame = [byte[]]::new(64); $frame[12] = $EtherType -shr 8; $frame[13] = $EtherType -band 0xff; $frame
    }
}

Describe 'Map entry cmdlets' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $ExampleObject
    }
    AfterEach {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'reads what the program counted, decoded by BTF' {
        1..3 | ForEach-Object { Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x0800) } | Out-Null
        Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x86DD) | Out-Null
        (Get-BpfMapEntry -Collection $collection -Name packets -Key 0).Value | Should -Be 4
        $counts = Get-BpfMapEntry $collection.Maps.by_ethertype
        $counts.Count | Should -Be 2
        ($counts | Where-Object Key -EQ 0x0800).Value | Should -Be 3
        ($counts | Where-Object Key -EQ 0x86DD).Value | Should -Be 1
        $counts | ForEach-Object { $_.Map | Should -Be 'by_ethertype' }
    }

    It 'agrees with bpftool about the values in the kernel' {
        Skip-Unless $Bpftool $NeedsBpftool
        Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x0800) -Repeat 7 | Out-Null
        $dump = & $Bpftool map dump id $collection.Maps.packets.Id -j | ConvertFrom-Json
        $kernel = [BitConverter]::ToUInt64([byte[]]($dump[0].value | ForEach-Object { [Convert]::ToByte($_, 16) }), 0)
        (Get-BpfMapEntry $collection.Maps.packets 0).Value | Should -Be $kernel
        $kernel | Should -Be 7
    }

    It 'shows the .rodata constant by its variable name' {
        $rodata = Get-BpfMapEntry -Collection $collection -Name .rodata
        $rodata.Value.verdict | Should -Be 2   # XDP_PASS, the default in packet_counter.c
    }

    It 'writes, reads back and deletes an entry' {
        Set-BpfMapEntry -Collection $collection -Name by_ethertype -Key 0x0806 -Value 42
        (Get-BpfMapEntry $collection.Maps.by_ethertype 0x0806).Value | Should -Be 42
        Remove-BpfMapEntry $collection.Maps.by_ethertype -Key 0x0806
        $null = Get-BpfMapEntry $collection.Maps.by_ethertype 0x0806 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MapKeyNotFound,*'
    }

    It 'returns the entry with -PassThru and writes nothing with -WhatIf' {
        (Set-BpfMapEntry $collection.Maps.by_ethertype -Key 1 -Value 5 -PassThru).Value | Should -Be 5
        Set-BpfMapEntry $collection.Maps.by_ethertype -Key 2 -Value 5 -WhatIf
        $null = Get-BpfMapEntry $collection.Maps.by_ethertype 2 -ErrorAction SilentlyContinue -ErrorVariable err
        $err.Count | Should -Be 1
    }

    It 'refuses NoExist on an existing key with the kernel''s reason' {
        Set-BpfMapEntry $collection.Maps.by_ethertype -Key 7 -Value 1
        Set-BpfMapEntry $collection.Maps.by_ethertype -Key 7 -Value 2 -Flag NoExist -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].Exception.Message | Should -Match 'EEXIST'
        (Get-BpfMapEntry $collection.Maps.by_ethertype 7).Value | Should -Be 1
    }

    It 'reports a value that does not fit as InvalidArgument and leaves the map alone' {
        Set-BpfMapEntry $collection.Maps.packets -Key 0 -Value 'not a number' -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        (Get-BpfMapEntry $collection.Maps.packets 0).Value | Should -Be 0
    }

    It 'explains that array entries cannot be deleted' {
        Remove-BpfMapEntry $collection.Maps.packets -Key 0 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
    }

    It 'reports an unknown map name as ObjectNotFound' {
        $null = Get-BpfMapEntry -Collection $collection -Name nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MapNotFound,*'
    }

    It 'sorts a counts map by Value' {
        $frames = @{ 0x0800 = 5; 0x86DD = 2; 0x0806 = 9; 0x88CC = 1 }
        foreach ($type in $frames.Keys) {
            Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame $type) -Repeat $frames[$type] | Out-Null
        }
        $top = $collection.Maps['by_ethertype'] | Get-BpfMapEntry | Sort-Object Value -Descending | Select-Object -First 2
        $top.Key | Should -Be @(0x0806, 0x0800)
        $top.Value | Should -Be @(9, 5)
        ($collection.Maps['by_ethertype'] | Get-BpfMapEntry | Where-Object Value -LT 2).Key | Should -Be 0x88CC
    }

    It 'reads a map by id, from Get-BpfMap and by name, like the loaded map' {
        Invoke-BpfProgram -Collection $collection -Name count_packets -Data (New-Frame 0x0800) -Repeat 4 | Out-Null
        $id = $collection.Maps['by_ethertype'].Id
        (Get-BpfMapEntry $id 0x0800).Value | Should -Be 4
        (Get-BpfMap -Id $id | Get-BpfMapEntry).Value | Should -Be 4
        (Get-BpfMapEntry by_ethertype).Value | Should -Be 4
        (Get-BpfMapEntry $id).MapId | Should -Be $id
        (Get-BpfMapEntry -Map ([uint32]4000000000) -ErrorVariable err -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'sets and removes through a map id, confirming against the kernel' {
        Skip-Unless $Bpftool $NeedsBpftool
        $id = $collection.Maps['by_ethertype'].Id
        Set-BpfMapEntry $id -Key 0x0806 -Value 3
        # __u16 key 0x0806 and __u64 value 3, little-endian, as bpftool reads the kernel's bytes.
        $dump = & $Bpftool map dump id $id -j | ConvertFrom-Json
        ($dump.key -join ' ') | Should -Be '0x06 0x08'
        ($dump.value -join ' ') | Should -Be '0x03 0x00 0x00 0x00 0x00 0x00 0x00 0x00'
        Remove-BpfMapEntry $id -Key 0x0806
        & $Bpftool map dump id $id -j | ConvertFrom-Json | Should -BeNullOrEmpty
    }

    It 'completes map names of loaded collections' {
        $line = 'Get-BpfMapEntry -Collection $collection -Name by_'
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain 'by_ethertype'
    }
}
