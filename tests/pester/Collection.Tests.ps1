BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $ipv4Frame = [byte[]]::new(64); $ipv4Frame[12] = 0x08   # EtherType 0x0800 (IPv4), big-endian on the wire

    function Get-BpftoolJson([string[]] $Arguments) {
        $text = & $Bpftool @Arguments -j 2>$null
        if ($LASTEXITCODE -ne 0) { return $null }
        $text | ConvertFrom-Json
    }

    # The kernel frees programs and maps after an RCU grace period: poll briefly for an id to disappear.
    function Wait-Gone([string] $Kind, [uint32] $Id) {
        for ($i = 0; $i -lt 50; $i++) {
            if ($null -eq (Get-BpftoolJson @($Kind, 'show', 'id', $Id))) { return $true }
            Start-Sleep -Milliseconds 100
        }
        $false
    }

    # The packets counter, read by bpftool from the kernel (not through BpfPS).
    function Get-PacketCount([uint32] $MapId) {
        $entry = @(Get-BpftoolJson @('map', 'dump', 'id', $MapId))[0]
        [BitConverter]::ToUInt64([byte[]]($entry.value | ForEach-Object { [Convert]::ToByte($_, 16) }), 0)
    }
}

AfterAll {
    Get-BpfCollection | Remove-BpfCollection
}

Describe 'Import-BpfCollection' {
    BeforeEach { Skip-Unless $IsRoot $NeedsRoot }
    BeforeAll {
        $collection = if ($IsRoot) { Import-BpfCollection -Path $ExampleObject }
    }
    AfterAll {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'loads the example object: one XDP program, three maps' {
        $collection | Should -BeOfType ([BpfPS.BpfCollection])
        $collection.Programs.Keys | Should -Be @('count_packets')
        $collection.Maps.Keys | Should -Be @('packets', 'by_ethertype', '.rodata')
        $collection.Programs.count_packets.Type | Should -Be 'Xdp'
    }

    It 'reports the program as the kernel knows it (bpftool prog show)' {
        Skip-Unless $Bpftool $NeedsBpftool
        $program = $collection.Programs.count_packets
        $kernel = Get-BpftoolJson @('prog', 'show', 'id', $program.Id)
        $kernel.type | Should -Be 'xdp'
        $kernel.name | Should -Be 'count_packets'
        $kernel.tag | Should -Be $program.Tag
        $program.RawInstructions.Length | Should -Be ($program.InstructionCount * 8)
        $program.Fd.IsClosed | Should -BeFalse
    }

    It 'reports the maps as the kernel knows them (bpftool map show)' {
        Skip-Unless $Bpftool $NeedsBpftool
        foreach ($map in $collection.Maps.Values) {
            $kernel = Get-BpftoolJson @('map', 'show', 'id', $map.Id)
            $kernel.bytes_key | Should -Be $map.KeySize
            $kernel.bytes_value | Should -Be $map.ValueSize
            $kernel.max_entries | Should -Be $map.MaxEntries
        }
        (Get-BpftoolJson @('map', 'show', 'id', $collection.Maps.packets.Id)).type | Should -Be 'array'
        (Get-BpftoolJson @('map', 'show', 'id', $collection.Maps.by_ethertype.Id)).type | Should -Be 'hash'
    }

    It 'relocates against the runspace''s kernel BTF instead of parsing it again' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        $null = Get-BtfType -Name xdp_md
        $before = Get-BtfCache
        $again = Import-BpfCollection -Path $ExampleObject
        try {
            $after = Get-BtfCache
            $after.ParseCount | Should -Be $before.ParseCount
            $after.InstanceId | Should -Be $before.InstanceId
        }
        finally { Remove-BpfCollection $again }
    }

    It 'reports progress per program' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; `$c = Import-BpfCollection '$ExampleObject'; Remove-BpfCollection `$c").Invoke()
            $records = @($ps.Streams.Progress)
            $records.Activity | Should -Contain 'Loading packet_counter.o'
            $records.StatusDescription | Should -Contain 'Program 1 of 1: count_packets'
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'shows collections, programs and maps in their default tables' {
        $text = $collection | Out-String -Width 200
        $text | Should -Match '(?m)^\s*Id\s+Name\s+State\s+Programs\s+Maps\s*$'
        $text | Should -Match 'packet_counter\.o\s+Loaded\s+count_packets\s+packets, by_ethertype, \.rodata'
        $collection.Programs.Values | Out-String -Width 200 | Should -Match 'Xdp\s+count_packets\s+\d+\s+[0-9a-f]{16}'
        $collection.Maps.Values | Out-String -Width 200 | Should -Match 'Hash\s+by_ethertype\s+2\s+8\s+64'
    }

    It 'is listed by Get-BpfCollection, by name and by id' {
        Get-BpfCollection | Should -Contain $collection
        Get-BpfCollection -Name 'packet_*' | Should -Contain $collection
        Get-BpfCollection -Id $collection.Id | Should -Be $collection
    }

    It 'takes files from Get-ChildItem by FullName' {
        $piped = Get-Item $ExampleObject | Import-BpfCollection
        try { $piped.Programs.Keys | Should -Be @('count_packets') }
        finally { Remove-BpfCollection $piped }
    }

    It 'loads a spec from Get-BpfCollectionSpec, edits included' {
        $spec = Get-BpfCollectionSpec $ExampleObject
        $spec.Maps.by_ethertype.MaxEntries = 128
        $loaded = $spec | Import-BpfCollection
        try { $loaded.Maps.by_ethertype.MaxEntries | Should -Be 128 }
        finally { Remove-BpfCollection $loaded }
    }
}

Describe 'Import-BpfCollection options' {
    BeforeEach { Skip-Unless $IsRoot $NeedsRoot }
    It 'keeps the verifier log with -VerifierLog' {
        $collection = Import-BpfCollection -Path $ExampleObject -VerifierLog
        try { $collection.Programs.count_packets.VerifierLog | Should -Match 'processed \d+ insns' }
        finally { Remove-BpfCollection $collection }
    }

    It 'relocates against a BTF file given with -KernelBtf' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        Copy-Item $VmlinuxPath TestDrive:/target.btf
        $collection = Import-BpfCollection -Path $ExampleObject -KernelBtf TestDrive:/target.btf
        try { $collection.Programs.Keys | Should -Be @('count_packets') }
        finally { Remove-BpfCollection $collection }
    }

    It 'stops when -KernelBtf names no file' {
        { Import-BpfCollection -Path $ExampleObject -KernelBtf TestDrive:/none.btf -ErrorAction Stop } |
            Should -Throw -ErrorId 'PathNotFound,BpfPS.Cmdlets.ImportBpfCollectionCommand'
    }

    It 'pins maps declared LIBBPF_PIN_BY_NAME under -PinPath, and reuses the pin' {
        Skip-Unless $BpffsMounted $NeedsBpffs
        $object = Join-Path $FixturesPath 'btf_maps.o'
        if (-not (Test-Path $object)) { Set-ItResult -Skipped -Because "$object was not built (run build.ps1 fixtures)"; return }
        $pins = "/sys/fs/bpf/bpfps-pester-$PID"
        New-Item -ItemType Directory $pins -Force | Out-Null
        try {
            $first = Import-BpfCollection -Path $object -PinPath $pins
            $second = Import-BpfCollection -Path $object -PinPath $pins
            $first.Maps.pinned_lru.PinnedPath | Should -Be "$pins/pinned_lru"
            "$pins/pinned_lru" | Should -Exist
            $first.Maps.pinned_lru.IsReusedPin | Should -BeFalse
            $second.Maps.pinned_lru.IsReusedPin | Should -BeTrue
            $second.Maps.pinned_lru.Id | Should -Be $first.Maps.pinned_lru.Id
        }
        finally {
            Get-BpfCollection | Where-Object Path -EQ $object | Remove-BpfCollection
            Remove-Item $pins -Recurse -Force
        }
    }
}

Describe 'Invoke-BpfProgram' {
    BeforeEach { Skip-Unless $IsRoot $NeedsRoot }
    BeforeAll {
        $collection = if ($IsRoot) { Import-BpfCollection -Path $ExampleObject }
    }
    AfterAll {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'runs the program and returns its verdict (XDP_PASS by default)' {
        $result = Invoke-BpfProgram -Collection $collection -Name count_packets -Data $ipv4Frame
        $result.ReturnValue | Should -Be 2
        $result.Action | Should -Be 'XDP_PASS'
        $result.DataOut | Should -Be $ipv4Frame
    }

    It 'changes the map the program writes, as bpftool sees it' {
        Skip-Unless $Bpftool $NeedsBpftool
        $mapId = $collection.Maps.packets.Id
        $before = Get-PacketCount $mapId
        $collection.Programs.Values | Invoke-BpfProgram -Data $ipv4Frame -Repeat 5 | Out-Null
        Get-PacketCount $mapId | Should -Be ($before + 5)
    }

    It 'honours -Constant: the program returns the verdict set at load' {
        $dropping = Import-BpfCollection -Path $ExampleObject -Constant @{ verdict = 1 }
        try {
            (Invoke-BpfProgram -Program $dropping.Programs.count_packets).Action | Should -Be 'XDP_DROP'
        }
        finally { Remove-BpfCollection $dropping }
    }

    It 'reports an unknown program name as ObjectNotFound' {
        $null = Invoke-BpfProgram -Collection $collection -Name nope -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Remove-BpfCollection and cleanup' {
    BeforeEach { Skip-Unless $IsRoot $NeedsRoot }
    It 'closes the programs: the kernel frees them' {
        Skip-Unless $Bpftool $NeedsBpftool
        $collection = Import-BpfCollection -Path $ExampleObject
        $programId = $collection.Programs.count_packets.Id
        Remove-BpfCollection $collection
        $collection.IsDisposed | Should -BeTrue
        Get-BpfCollection | Should -Not -Contain $collection
        Wait-Gone prog $programId | Should -BeTrue
    }

    It 'does nothing with -WhatIf' {
        $collection = Import-BpfCollection -Path $ExampleObject
        Remove-BpfCollection $collection -WhatIf
        $collection.IsDisposed | Should -BeFalse
        Remove-BpfCollection $collection
    }

    It 'says why a removed program cannot run' {
        $collection = Import-BpfCollection -Path $ExampleObject
        Remove-BpfCollection $collection
        $null = Invoke-BpfProgram -Program $collection.Programs.count_packets -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ProgramRemoved,*'
    }

    It 'closes what a runspace loaded when the runspace closes' {
        Skip-Unless $Bpftool $NeedsBpftool
        $ps = [powershell]::Create()
        try {
            $id = $ps.AddScript("Import-Module '$ModulePath'; (Import-BpfCollection '$ExampleObject').Programs.count_packets.Id").Invoke()[0]
            Get-BpftoolJson @('prog', 'show', 'id', $id) | Should -Not -BeNullOrEmpty
        }
        finally {
            $ps.Runspace.Close(); $ps.Dispose()
        }
        Wait-Gone prog $id | Should -BeTrue
    }

    It 'closes what the runspace loaded on Remove-Module' {
        Skip-Unless $Bpftool $NeedsBpftool
        $ps = [powershell]::Create()
        try {
            $id = $ps.AddScript("Import-Module '$ModulePath'; `$id = (Import-BpfCollection '$ExampleObject').Programs.count_packets.Id; Remove-Module BpfPS; `$id").Invoke()[0]
            Wait-Gone prog $id | Should -BeTrue
        }
        finally {
            $ps.Runspace.Close(); $ps.Dispose()
        }
    }
}

Describe 'Import-BpfCollection -WhatIf' {
    It 'creates nothing and returns nothing' {
        $before = @(Get-BpfCollection).Count
        $result = Import-BpfCollection -Path $ExampleObject -WhatIf
        $result | Should -BeNullOrEmpty
        @(Get-BpfCollection).Count | Should -Be $before
    }
}

Describe 'Import-BpfCollection errors' {
    It 'reports a missing file as ObjectNotFound naming the path' {
        $missing = Join-Path $TestDrive 'missing.o'
        $null = Import-BpfCollection -Path $missing -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $missing
    }

    It 'reports a corrupt object as InvalidData naming the file' {
        $corrupt = Join-Path $TestDrive 'corrupt.o'
        [IO.File]::WriteAllBytes($corrupt, [byte[]](0x7f, 0x45, 0x4c, 0x46, 2, 1, 1) + [byte[]]::new(100))
        $null = Import-BpfCollection -Path $corrupt -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].TargetObject | Should -Be $corrupt
        $err[0].Exception.Message | Should -BeLike '*corrupt.o*'
    }

    It 'reports EPERM as PermissionDenied and says what is needed' {
        # The core's fault-injection seam fails every bpf() call with EPERM (1), as for an unprivileged user.
        $scope = [BpfPS.Core.Kernel.BpfFaultInjection]::Inject({ param($command, $ordinal) 1 })
        try {
            $null = Import-BpfCollection -Path $ExampleObject -ErrorVariable err -ErrorAction SilentlyContinue
        }
        finally { $scope.Dispose() }
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err[0].ErrorDetails.Message + $err[0].ErrorDetails.RecommendedAction | Should -Match 'CAP_BPF'
        $err[0].TargetObject | Should -Be $ExampleObject
    }

    It 'reports a verifier rejection as InvalidOperation with the log' {
        Skip-Unless $IsRoot $NeedsRoot
        $object = Join-Path $FixturesPath 'verifier_reject.o'
        if (-not (Test-Path $object)) { Set-ItResult -Skipped -Because "$object was not built (run build.ps1 fixtures)"; return }
        $null = Import-BpfCollection -Path $object -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VerifierRejected,*'
        $err[0].Exception.VerifierLog | Should -Not -BeNullOrEmpty
        $lastLine = ($err[0].Exception.VerifierLog -split "`n" | Where-Object { $_.Trim() } | Select-Object -Last 1)
        $err[0].Exception.Message | Should -BeLike "*$lastLine*"
        Get-BpfCollection | Where-Object Path -EQ $object | Should -BeNullOrEmpty
    }
}

Describe 'Get-BpfCollectionSpec' {
    It 'parses without loading: maps and programs as the object declares them' {
        $spec = Get-BpfCollectionSpec $ExampleObject
        $spec.Programs.Keys | Should -Be @('count_packets')
        $spec.Programs.count_packets.Type | Should -Be 'Xdp'
        $spec.Maps.packets.Type | Should -Be 'Array'
        $spec.Maps.by_ethertype.MaxEntries | Should -Be 64
        $spec.License | Should -Be 'Dual MIT/GPL'
    }

    It 'disassembles the relocated program' {
        $text = (Get-BpfCollectionSpec $ExampleObject).Programs.count_packets.Disassemble()
        $text | Should -Match 'call bpf_map_lookup_elem'
        $text | Should -Match 'exit'
    }

    It 'resolves __ksym externs as a load would' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        $object = Join-Path $FixturesPath 'externs.o'
        if (-not (Test-Path $object)) { Set-ItResult -Skipped -Because "$object was not built (run build.ps1 fixtures)"; return }
        $spec = Get-BpfCollectionSpec $object -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        $spec.Programs.Values | ForEach-Object { $_.RelocationError | Should -BeNullOrEmpty }
    }

    It 'shows what each CO-RE relocation resolved to, matching bpftool''s layout of the kernel' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        Skip-Unless $Bpftool $NeedsBpftool
        $object = Join-Path $FixturesPath 'core_fields.o'
        if (-not (Test-Path $object)) { Set-ItResult -Skipped -Because "$object was not built (run build.ps1 fixtures)"; return }
        $relocations = (Get-BpfCollectionSpec $object).Programs.core_fields.CoreRelocations
        $relocations | Should -Not -BeNullOrEmpty
        $pidMember = (Get-BpftoolTypes -Path $VmlinuxPath -Name task_struct | Where-Object Kind -EQ 'STRUCT').Members |
            Where-Object Name -EQ 'pid'
        $pidOffset = $relocations | Where-Object { $_.Relocation.Kind -eq 'FieldByteOffset' -and $_.Description -match 'task_struct\.pid ' } |
            Select-Object -First 1
        $pidOffset.Poisoned | Should -BeFalse
        $pidOffset.TargetValue | Should -Be ($pidMember.BitOffset / 8)
    }

    It 'reports a missing file as ObjectNotFound' {
        $null = Get-BpfCollectionSpec (Join-Path $TestDrive 'nope.o') -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}
