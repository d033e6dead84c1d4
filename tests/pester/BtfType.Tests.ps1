BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    if ($HasKernelBtf -and $Bpftool) {
        $reference = @{}
        Get-BpftoolTypes -Path $VmlinuxPath -Name task_struct, list_head, sk_buff, bpf_map_type, xdp_md, u32 |
            ForEach-Object { $reference["$($_.Kind) $($_.Name)"] = $_ }
    }
}

Describe 'Get-BtfType on kernel BTF' {
    BeforeEach { Skip-Unless $HasKernelBtf $NeedsKernelBtf }
    It 'finds a struct by exact name with the id, size and members bpftool reports' {
        Skip-Unless $Bpftool $NeedsBpftool
        foreach ($name in 'task_struct', 'list_head', 'sk_buff', 'xdp_md') {
            $expected = $reference["STRUCT $name"]
            $type = Get-BtfType -Name $name -Kind Struct
            $type.Id | Should -Be $expected.Id
            $type.Kind | Should -Be 'Struct'
            $type.Size | Should -Be $expected.Size
            # One line per member, so a mismatch shows which member differs.
            $type.Members | ForEach-Object { "$($_.Name) type=$($_.TypeId) bits=$($_.BitOffset) bitfield=$($_.BitfieldSize)" } |
                Should -Be ($expected.Members | ForEach-Object { "$($_.Name) type=$($_.TypeId) bits=$($_.BitOffset) bitfield=$($_.BitfieldSize)" })
        }
    }

    It 'gets a type by id' {
        Skip-Unless $Bpftool $NeedsBpftool
        $type = Get-BtfType -Id $reference['STRUCT task_struct'].Id
        $type.Name | Should -Be 'task_struct'
        $type.Kind | Should -Be 'Struct'
    }

    It 'reads enum values that match the uapi ABI' {
        $enum = Get-BtfType -Name bpf_map_type -Kind Enum
        # Fixed by the kernel ABI (include/uapi/linux/bpf.h): never renumbered.
        ($enum.Values | Where-Object Name -EQ 'BPF_MAP_TYPE_HASH').Value | Should -Be 1
        ($enum.Values | Where-Object Name -EQ 'BPF_MAP_TYPE_ARRAY').Value | Should -Be 2
        ($enum.Values | Where-Object Name -EQ 'BPF_MAP_TYPE_RINGBUF').Value | Should -Be 27
    }

    It 'matches names case-insensitively, like PowerShell' {
        (Get-BtfType -Name TASK_STRUCT -Kind Struct).Name | Should -Be 'task_struct'
    }

    It 'filters with wildcards and kinds, returning exactly what bpftool lists' {
        Skip-Unless $Bpftool $NeedsBpftool
        $dump = (& $Bpftool btf dump file $VmlinuxPath format raw) -join "`n"
        $expected = [regex]::Matches($dump, "(?m)^\[(\d+)\] (STRUCT|UNION) 'sk_buff[^']*'") | ForEach-Object { [uint32]$_.Groups[1].Value }
        $found = Get-BtfType -Name 'sk_buff*' -Kind Struct, Union
        $found.Id | Should -Be $expected
        $found | ForEach-Object { $_.Name | Should -BeLike 'sk_buff*' }
    }

    It 'returns every kind asked for and only those' {
        $types = Get-BtfType -Name 'bpf_*' -Kind Enum, Typedef
        $types | Should -Not -BeNullOrEmpty
        ($types.Kind | Sort-Object -Unique) | Should -BeIn @('Enum', 'Typedef')
    }

    It 'takes ids from the pipeline by property name (members to their types)' {
        $members = (Get-BtfType -Name list_head -Kind Struct).Members
        $types = $members | Get-BtfType
        $types.Count | Should -Be 2
        $types | ForEach-Object { $_.Kind | Should -Be 'Pointer' }
        $types.Id | Should -Be $members.TypeId
    }

    It 'writes the member C types' {
        $members = (Get-BtfType -Name list_head -Kind Struct).Members
        $members[0].TypeName | Should -Match '^struct list_head \*$'
    }

    It 'writes a C declaration' {
        $declaration = (Get-BtfType -Name xdp_md -Kind Struct).Declaration
        $declaration | Should -Match 'struct xdp_md \{'
        $declaration | Should -Match '__u32 data;'
        $declaration | Should -Match '__u32 data_end;'
    }

    It 'resolves the size of a typedef' {
        (Get-BtfType -Name u32 -Kind Typedef).Size | Should -Be 4
    }

    It 'reports a name that matches nothing as ObjectNotFound' {
        $result = Get-BtfType -Name no_such_type_anywhere -ErrorVariable err -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TypeNotFound,*'
        $err[0].TargetObject | Should -Be 'no_such_type_anywhere'
    }

    It 'reports an id past the end as ObjectNotFound' {
        $null = Get-BtfType -Id 4000000000 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'TypeIdNotFound,*'
    }

    It 'streams: the first result arrives without decoding everything' {
        $before = (Get-BtfCache).DecodedTypeCount
        $first = Get-BtfType | Select-Object -First 3
        $first.Count | Should -Be 3
        (Get-BtfCache).DecodedTypeCount - $before | Should -BeLessThan 1000
    }
}

Describe 'Get-BtfType -Path' {
    It 'reads the .BTF section of a compiled object, as bpftool does' {
        Skip-Unless $Bpftool $NeedsBpftool
        $expected = Get-BpftoolTypes -Path $ExampleObject | Where-Object Kind -In 'VAR', 'FUNC', 'STRUCT'
        $found = Get-BtfType -Path $ExampleObject -Kind Var, Func, Struct
        $found.Id | Should -Be $expected.Id
        $found.Name | Should -Be $expected.Name
        $found.Name | Should -Contain 'packets'
        $found.Name | Should -Contain 'count_packets'
    }

    It 'resolves relative paths from the current location and expands wildcards' {
        Push-Location (Split-Path $ExampleObject)
        try {
            (Get-BtfType -Path ./packet_counter.o -Name count_packets).Kind | Should -Be 'Func'
            (Get-BtfType -Path ./packet_c*.o -Name count_packets).Kind | Should -Be 'Func'
        }
        finally { Pop-Location }
    }

    It 'takes files from Get-ChildItem through the pipeline' {
        (Get-Item $ExampleObject | Get-BtfType -Name xdp_md).Kind | Should -Be 'Struct'
    }

    It 'reads a raw BTF file' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        Copy-Item $VmlinuxPath TestDrive:/vmlinux.btf
        (Get-BtfType -Path TestDrive:/vmlinux.btf -Name task_struct -Kind Struct).Size |
            Should -Be (Get-BtfType -Name task_struct -Kind Struct).Size
    }

    It 'reports a missing file as ObjectNotFound naming the path' {
        $missing = Join-Path $TestDrive 'missing.o'
        $null = Get-BtfType -Path $missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $missing
        $err[0].Exception.Message | Should -BeLike "*$missing*"
    }

    It 'reports a corrupt file as InvalidData naming the file' {
        $corrupt = Join-Path $TestDrive 'corrupt.o'
        [IO.File]::WriteAllBytes($corrupt, [byte[]](0x9f, 0xeb, 0x01, 0x00) + [byte[]]::new(60))
        $null = Get-BtfType -Path $corrupt -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].TargetObject | Should -Be $corrupt
        $err[0].Exception.Message | Should -BeLike "*corrupt.o*"
    }

    It 'reports an ELF file that is not a BPF object as InvalidData' {
        $null = Get-BtfType -Path /bin/sh -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -BeLike '*/bin/sh*'
    }

    It 'goes on with the next file after a bad one' {
        $corrupt = Join-Path $TestDrive 'bad.o'
        Set-Content $corrupt 'not btf'
        $found = Get-BtfType -Path $corrupt, $ExampleObject -Name count_packets -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $found.Name | Should -Be 'count_packets'
    }
}

Describe 'Get-BtfType -Module' {
    It 'lists only the types a kernel module adds' {
        Skip-Unless ($KernelModulesWithBtf.Count -gt 0) $NeedsModuleBtf
        $module = $KernelModulesWithBtf[0]
        $null = Get-BtfType -Name list_head
        $kernelTypeCount = (Get-BtfCache).TypeCount
        $types = Get-BtfType -Module $module | Select-Object -First 50
        $types | Should -Not -BeNullOrEmpty
        $types | ForEach-Object { $_.Id | Should -BeGreaterThan $kernelTypeCount }
    }

    It 'reports a module without BTF as ObjectNotFound' {
        $null = Get-BtfType -Module no_such_module_xyz -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'no_such_module_xyz'
    }
}
