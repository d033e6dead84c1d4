BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $manyPrograms = Join-Path $FixturesPath 'parallel_progs.o'
    $twoRejects = Join-Path $FixturesPath 'parallel_reject.o'
}

Describe 'Import-BpfCollection -ThrottleLimit' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        if (-not (Test-Path $manyPrograms)) { Set-ItResult -Skipped -Because "$manyPrograms was not built (run build.ps1 fixtures)" }
    }

    It 'loads the same programs one by one and on several threads' {
        $serial = Import-BpfCollection -Path $manyPrograms -ThrottleLimit 1
        $parallel = Import-BpfCollection -Path $manyPrograms -ThrottleLimit 4
        try {
            $parallel.Programs.Keys | Should -Be @($serial.Programs.Keys)
            foreach ($name in $serial.Programs.Keys) {
                $parallel.Programs[$name].Tag | Should -Be $serial.Programs[$name].Tag -Because "program $name"
            }
            # jumps[1] = target_b: slots are filled once every program exists, whichever thread loaded it.
            (Invoke-BpfProgram -Collection $parallel -Name dispatch -Data ([byte[]]::new(64))).ReturnValue | Should -Be 7
        }
        finally { Remove-BpfCollection $serial, $parallel }
    }

    It 'reports progress for every program on the pipeline thread' {
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModulePath'; `$c = Import-BpfCollection '$manyPrograms' -ThrottleLimit 4; Remove-BpfCollection `$c").Invoke()
            $ps.Streams.Error | Should -BeNullOrEmpty
            $records = @($ps.Streams.Progress | Where-Object Activity -EQ 'Loading parallel_progs.o')
            @($records | Where-Object StatusDescription -Like 'Program * of 15: *').Count | Should -Be 15
            $records[-1].RecordType | Should -Be 'Completed'
        }
        finally { $ps.Dispose() }
    }

    It 'names the first refused program in object order, and keeps nothing' {
        $before = @(Get-BpfCollection).Count
        $null = Import-BpfCollection -Path $twoRejects -ThrottleLimit 4 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'VerifierRejected,*'
        $err[0].Exception.ObjectName | Should -Be "program 'slow_reject'"
        @(Get-BpfCollection).Count | Should -Be $before
    }

    It 'refuses a limit below 1' {
        { Import-BpfCollection -Path $manyPrograms -ThrottleLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,BpfPS.Cmdlets.ImportBpfCollectionCommand'
    }
}
