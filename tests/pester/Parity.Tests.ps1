# libbpf behaviours on real objects: programs with autoload off (SEC("?...")), chosen with -Program or by editing the
# spec's AutoLoad property; object BTF the kernel refuses, dropped with a warning when nothing needs it; -KernelBtf for
# CO-RE only.
BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $AutoloadObject = Join-Path $FixturesPath 'autoload.o'
    $HasFixtures = Test-Path $AutoloadObject
    $NeedsFixtures = "the fixtures are not built ($AutoloadObject is missing: run build.ps1 fixtures)"

    # Copies a fixture with the linkage of one BTF FUNC set to extern: BpfPS parses that BTF, the kernel refuses it.
    function Copy-WithRefusedBtf([string] $Fixture, [string] $Function, [string] $Destination) {
        $bytes = [IO.File]::ReadAllBytes((Join-Path $FixturesPath "$Fixture.o"))
        $section = [BpfPS.Core.Elf.ElfSection]::new(0, '', 0, 0, 0, 0, 0, 0, 0, 0)
        if (-not [BpfPS.Core.Elf.ElfFile]::Parse($bytes, $Fixture).TryGetSection('.BTF', [ref] $section)) { throw "$Fixture has no .BTF" }
        $btf = [int]$section.Offset
        $u32 = { param($at) [BitConverter]::ToUInt32($bytes, $btf + $at) }
        $header = & $u32 4
        $types = $btf + $header + (& $u32 8); $typesEnd = $types + (& $u32 12)
        $strings = $btf + $header + (& $u32 16)
        $text = [Text.Encoding]::ASCII.GetString($bytes, $strings, (& $u32 20))
        $name = $text.IndexOf("`0$Function`0", [StringComparison]::Ordinal) + 1
        if ($name -le 0) { throw "$Fixture has no BTF string $Function" }
        for ($at = $types; $at + 12 -le $typesEnd; $at += 4) {
            $info = [BitConverter]::ToUInt32($bytes, $at + 4)
            if ([BitConverter]::ToUInt32($bytes, $at) -eq $name -and (($info -shr 24) -band 0x1f) -eq 12) {
                [BitConverter]::GetBytes([uint32](($info -band 0xffff0000) -bor 2)).CopyTo($bytes, $at + 4)
                [IO.File]::WriteAllBytes($Destination, $bytes)
                return
            }
        }
        throw "$Fixture has no BTF FUNC $Function"
    }

    # The kernel's own view of a program (bpftool), or $null when it has no program with this id.
    function Get-KernelProgram([uint32] $Id) {
        $text = & $Bpftool prog show id $Id -j 2>$null
        if ($LASTEXITCODE -ne 0) { return $null }
        $text | ConvertFrom-Json
    }
}

Describe 'Programs with autoload off' {
    BeforeEach { Skip-Unless $HasFixtures $NeedsFixtures }

    It 'Get-BpfCollectionSpec shows AutoLoad, off for SEC("?...") programs' {
        $spec = Get-BpfCollectionSpec $AutoloadObject
        $spec.Programs.always_on.AutoLoad | Should -BeTrue
        $spec.Programs.rejected_unless_asked.AutoLoad | Should -BeFalse
        $spec.Programs.opt_in.AutoLoad | Should -BeFalse
        $spec.Programs.opt_in.SectionName | Should -Be 'xdp'
        $table = $spec.Programs.Values | Format-Table | Out-String
        $table | Should -Match 'AutoLoad'
        $table | Should -Match 'opt_in\s+xdp\s+False'
    }

    It 'Import-BpfCollection loads only the autoload programs and lists the others as skipped' {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection $AutoloadObject
        try {
            $collection.Programs.Keys | Should -Be @('always_on')
            $collection.SkippedPrograms | Should -Be @('rejected_unless_asked', 'opt_in')
            if ($Bpftool) { (Get-KernelProgram $collection.Programs.always_on.Id).name | Should -Be 'always_on' }
        }
        finally { Remove-BpfCollection $collection }
    }

    It '-Program loads exactly the programs it names' {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection $AutoloadObject -Program opt_in
        try {
            $collection.Programs.Keys | Should -Be @('opt_in')
            $collection.SkippedPrograms | Should -Be @('always_on', 'rejected_unless_asked')
            if ($Bpftool) { (Get-KernelProgram $collection.Programs.opt_in.Id).type | Should -Be 'xdp' }
        }
        finally { Remove-BpfCollection $collection }
    }

    It 'a spec whose AutoLoad was set loads that program too' {
        Skip-Unless $IsRoot $NeedsRoot
        $spec = Get-BpfCollectionSpec $AutoloadObject
        $spec.Programs.opt_in.AutoLoad = $true
        $collection = $spec | Import-BpfCollection
        try {
            $collection.Programs.Keys | Should -Be @('always_on', 'opt_in')
            $collection.SkippedPrograms | Should -Be @('rejected_unless_asked')
        }
        finally { Remove-BpfCollection $collection }
    }

    It 'a program the verifier refuses fails the load only when asked for' {
        Skip-Unless $IsRoot $NeedsRoot
        $null = Import-BpfCollection $AutoloadObject -Program always_on, rejected_unless_asked -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VerifierRejected,*'
        $err[0].Exception.ObjectName | Should -Be "program 'rejected_unless_asked'"
        @(Get-BpfCollection | Where-Object Path -EQ $AutoloadObject).Count | Should -Be 0
    }

    It '-Program with a name the object lacks is an error naming it' {
        Skip-Unless $IsRoot $NeedsRoot
        $null = Import-BpfCollection $AutoloadObject -Program no_such_program -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'BpfLoadFailed,*'
        $err[0].Exception.Message | Should -Match "no_such_program.*always_on, rejected_unless_asked, opt_in"
        $err[0].TargetObject | Should -Be $AutoloadObject
    }

    It '-WhatIf names only the programs it would load' {
        # What-if messages go to the host: a transcript records them.
        $transcript = Join-Path $TestDrive 'whatif.txt'
        $null = Start-Transcript -Path $transcript
        try { Import-BpfCollection $AutoloadObject -Program opt_in -WhatIf }
        finally { $null = Stop-Transcript }
        Get-Content $transcript -Raw | Should -Match 'load 1 programs \[opt_in \(Xdp\)\]'
        @(Get-BpfCollection | Where-Object Path -EQ $AutoloadObject).Count | Should -Be 0
    }
}

Describe 'Object BTF the kernel refuses' {
    BeforeEach {
        Skip-Unless $HasFixtures $NeedsFixtures
        Skip-Unless $IsRoot $NeedsRoot
    }

    It 'loads without it when nothing needs it, and warns with the kernel''s reason' {
        $object = Join-Path $TestDrive 'refused_btf.o'
        Copy-WithRefusedBtf autoload always_on $object
        $collection = Import-BpfCollection $object -WarningVariable warnings -WarningAction SilentlyContinue
        try {
            $collection.Programs.Keys | Should -Be @('always_on')
            $warnings.Count | Should -Be 1
            $warnings[0].Message | Should -Match 'refused_btf\.o: the kernel refused the object''s BTF \(EINVAL.*linkage'
            $collection.Warnings | Should -HaveCount 1
            $collection.Collection.BtfId | Should -Be 0
            if ($Bpftool) { (Get-KernelProgram $collection.Programs.always_on.Id).btf_id | Should -BeNullOrEmpty }
        }
        finally { Remove-BpfCollection $collection }
    }

    It 'fails, naming what needs it, when a map needs it' {
        $object = Join-Path $TestDrive 'required_btf.o'
        Copy-WithRefusedBtf btf_required count_locked $object
        $null = Import-BpfCollection $object -ErrorVariable err -ErrorAction SilentlyContinue -WarningVariable warnings
        $err.Count | Should -Be 1
        # The kernel's BTF verifier said why: its log travels with the error, as a program verifier's does.
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VerifierRejected,*'
        $err[0].Exception.ObjectName | Should -Be 'BTF'
        $err[0].Exception.Message | Should -Match "map 'locked_values'.*bpf_spin_lock"
        $err[0].Exception.VerifierLog | Should -Match 'linkage'
        $warnings.Count | Should -Be 0
        @(Get-BpfCollection | Where-Object Path -EQ $object).Count | Should -Be 0
    }
}

Describe '-KernelBtf is for CO-RE only' {
    BeforeEach {
        Skip-Unless $HasFixtures $NeedsFixtures
        Skip-Unless $IsRoot $NeedsRoot
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
    }

    It 'loads a tp_btf program against the running kernel while CO-RE follows the file' {
        # A target with task_struct.pid at byte 40 and no btf_trace_sys_enter at all.
        $builder = [BpfPS.Core.Btf.BtfBuilder]::new()
        $int = $builder.AddInt('int', 4, [BpfPS.Core.Btf.BtfIntEncoding]::Signed)
        $null = $builder.AddStruct('task_struct', 4096, [BpfPS.Core.Btf.BtfMember[]] @([BpfPS.Core.Btf.BtfMember]::new('pid', $int, 320, 0)))
        $target = Join-Path $TestDrive 'other-kernel.btf'
        [IO.File]::WriteAllBytes($target, $builder.Build())

        $collection = Import-BpfCollection (Join-Path $FixturesPath 'custom_target.o') -KernelBtf $target
        try {
            $program = $collection.Programs.on_sys_enter
            $offset = @($program.CoreRelocations | Where-Object { $_.Relocation.Kind -eq 'FieldByteOffset' })
            $offset.Count | Should -Be 1
            $offset[0].TargetValue | Should -Be 40
            $vmlinuxId = (Get-BtfType -Name btf_trace_sys_enter -Kind Typedef).Id
            $program.AttachBtfId | Should -Be $vmlinuxId
            if ($Bpftool) { (Get-KernelProgram $program.Id).btf_id | Should -Not -BeNullOrEmpty }
        }
        finally { Remove-BpfCollection $collection }
    }
}
