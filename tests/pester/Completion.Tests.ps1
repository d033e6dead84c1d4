BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    function Complete([string] $Line) {
        (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches
    }
}

Describe 'Tab completion of BTF type names' {
    BeforeEach { Skip-Unless $HasKernelBtf $NeedsKernelBtf }
    It 'offers kernel type names that start with what was typed' {
        $matches = Complete 'Get-BtfType -Name task_stru'
        $matches.CompletionText | Should -Contain 'task_struct'
        $matches | ForEach-Object { $_.CompletionText | Should -BeLike 'task_stru*' }
    }

    It 'completes the positional -Name too' {
        (Complete 'Get-BtfType list_hea').CompletionText | Should -Contain 'list_head'
    }

    It 'caps the number of completions' {
        $matches = Complete 'Get-BtfType -Name s'
        $matches.Count | Should -Be 100
    }

    It 'honours -Kind' {
        $matches = Complete 'Get-BtfType -Kind Enum -Name bpf_'
        $matches.CompletionText | Should -Contain 'bpf_map_type'
        foreach ($name in $matches.CompletionText) {
            Get-BtfType -Name $name -Kind Enum -ErrorAction SilentlyContinue | Should -Not -BeNullOrEmpty -Because "$name was offered as an enum"
        }
    }

    It 'offers nothing for a prefix no type has' {
        Complete 'Get-BtfType -Name zzzz_no_such_' | Should -BeNullOrEmpty
    }

    It 'uses the runspace cache instead of parsing again' {
        $null = Get-BtfType -Name task_struct
        $before = Get-BtfCache
        $null = Complete 'Get-BtfType -Name sk_b'
        (Get-BtfCache).InstanceId | Should -Be $before.InstanceId
        (Get-BtfCache).ParseCount | Should -Be $before.ParseCount
    }
}

Describe 'Tab completion of kernel module names' {
    It 'offers the modules under /sys/kernel/btf' {
        Skip-Unless ($KernelModulesWithBtf.Count -gt 0) $NeedsModuleBtf
        (Complete 'Get-BtfType -Module ').CompletionText | Sort-Object | Should -Be ($KernelModulesWithBtf | Sort-Object)
    }

    It 'never offers vmlinux as a module' {
        (Complete 'Get-BtfType -Module vm').CompletionText | Should -Not -Contain 'vmlinux'
    }
}
