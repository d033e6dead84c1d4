BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    function Render($InputObject) { ($InputObject | Out-String -Width 200) -split "`r?`n" | Where-Object { $_.Trim() } }
}

Describe 'Default views' {
    It 'shows BTF types as a table of Id, Kind, Size and Name' {
        $lines = Render (Get-BtfType -Path $ExampleObject -Name count_packets, xdp_md)
        $lines[0] | Should -Match '^\s*Id\s+Kind\s+Size\s+Name\s*$'
        $lines | Where-Object { $_ -match '^\s*\d+\s+Func\s+count_packets\s*$' } | Should -Not -BeNullOrEmpty
        $lines | Where-Object { $_ -match '^\s*\d+\s+Struct\s+24\s+xdp_md\s*$' } | Should -Not -BeNullOrEmpty
    }

    It 'shows members as a table of offsets, bitfield size, type and name' {
        $lines = Render (Get-BtfType -Path $ExampleObject -Name xdp_md).Members
        $lines[0] | Should -Match '^\s*Offset\s+BitOffset\s+Bits\s+TypeName\s+Name\s*$'
        $lines | Where-Object { $_ -match '^\s*4\s+32\s+0?\s+__u32\s+data_end\s*$' } | Should -Not -BeNullOrEmpty
    }

    It 'shows the cache as a list' {
        $lines = Render (Get-BtfCache)
        foreach ($name in 'Source', 'Loaded', 'HeldByRunspace', 'TypeCount', 'DecodedTypeCount', 'RawBytes', 'ParseCount') {
            $lines | Where-Object { $_ -match "^$name\s+:" } | Should -Not -BeNullOrEmpty -Because "the list shows $name"
        }
    }

    It 'has a Declaration view for types' {
        $text = Get-BtfType -Path $ExampleObject -Name xdp_md | Format-Custom -View Declaration | Out-String
        $text | Should -Match 'struct xdp_md \{'
    }
}
