BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $EventsObject = Join-Path $FixturesPath 'events.o'
    # The fixture's struct request: mode, marker, length, at the start of a 64-byte test packet.
    function New-Request([uint32] $Mode = 0, [uint32] $Marker = 0, [uint32] $Length = 0) {
        $packet = [byte[]]::new(64)
        [BitConverter]::GetBytes($Mode).CopyTo($packet, 0)
        [BitConverter]::GetBytes($Marker).CopyTo($packet, 4)
        [BitConverter]::GetBytes($Length).CopyTo($packet, 8)
        , $packet
    }
    # Descriptors of the kinds a reader opens (perf events, epoll, eventfd, BPF maps): the rest of the process (module
    # loads in other runspaces, PowerShell's own caches) opens and closes files of its own at any time.
    # Waits until Receive-BpfEvent in another runspace (run with -Verbose) has its readers open: perf events must be in
    # the array before a program writes, or the samples go nowhere.
    function Wait-Reading([powershell] $Shell) {
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not ($Shell.Streams.Verbose | Where-Object Message -Like 'Reading *')) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Receive-BpfEvent did not start reading within 30 s: $($Shell.Streams.Error)" }
            Start-Sleep -Milliseconds 20
        }
    }
    function Get-FdCount {
        [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect(); [GC]::WaitForPendingFinalizers()
        @(foreach ($fd in [IO.Directory]::GetFiles('/proc/self/fd')) {
                $target = try { [IO.File]::ResolveLinkTarget($fd, $false).FullName } catch { '' }
                if ($target -match 'anon_inode:\[?(perf_event|eventpoll|eventfd|bpf-map)') { $target }
            }).Count
    }
}

Describe 'Receive-BpfEvent' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $EventsObject
    }
    AfterEach {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'decodes ring buffer records by -Type, in order, with stamps as DateTimes' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 41) -Repeat 3 | Out-Null
        $events = Receive-BpfEvent $collection.Maps.events -Type event -First 3 -Timeout 2 -TimeField stamp
        $events.Count | Should -Be 3
        $events.seq | Should -Be @(0, 1, 2)
        $events.marker | Should -Be @(41, 41, 41)
        $events[0].comm | Should -Be 'bpfps-events'
        $events[0].args | Should -Be @(41..48)
        $events[0].stamp | Should -BeOfType [datetime]
        ([datetime]::Now - $events[0].stamp).TotalSeconds | Should -BeLessThan 10
    }

    It 'emits instances of a class generated for the struct, whose members have real .NET types' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 30) | Out-Null
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 10) | Out-Null
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 20) | Out-Null
        $events = Receive-BpfEvent $collection.Maps.events -Type event -First 3 -Timeout 2
        $events[0].GetType().FullName | Should -BeLike 'BpfPS.Records.event*'
        $events[0].GetType().BaseType | Should -Be ([BpfPS.Core.Values.RecordObject])
        $events[0].psobject.Properties.Name | Should -Be @('seq', 'marker', 'comm', 'stamp', 'args')
        $events[0].marker | Should -BeOfType [uint32]
        $events[0].stamp | Should -BeOfType [uint64]
        $events[0].comm | Should -BeOfType [string]
        , $events[0].args | Should -BeOfType [uint32[]]
        ($events[0] | Get-Member -Name marker).Definition | Should -BeLike '*uint*marker*'
        "$($events[0])" | Should -BeLike '{ seq = *, marker = 30, comm = bpfps-events, stamp = *, args = `[30, 31, *] }'
        ($events | Sort-Object marker).marker | Should -Be @(10, 20, 30)
        ($events | Where-Object marker -GT 15 | Sort-Object seq -Descending).marker | Should -Be @(20, 30)
        ($events | Where-Object { $_.args[1] -eq 11 }).marker | Should -Be 10
        $events[0].marker = 99   # the properties are writable
        $events[0].marker | Should -Be 99
        ($events | Format-List | Out-String) | Should -BeLike '*comm*: bpfps-events*'
    }

    It 'gives records of the same object loaded again the same class' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 5) | Out-Null
        $first = Receive-BpfEvent $collection.Maps.events -Type event -First 1 -Timeout 2
        $again = Import-BpfCollection -Path $EventsObject
        try {
            Invoke-BpfProgram $again.Programs.ringbuf_emit -Data (New-Request 0 6) | Out-Null
            $second = Receive-BpfEvent $again.Maps.events -Type event -First 1 -Timeout 2
        }
        finally { Remove-BpfCollection $again }
        $second.marker | Should -Be 6
        $second.GetType() | Should -Be $first.GetType()
    }

    It 'types nested structs and their arrays, and leaves members past a short record''s end null' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 3 7) | Out-Null   # a whole struct big_event
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 8) | Out-Null   # struct event: short for big_event
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 2 9) | Out-Null   # 24 bytes
        $big, $short, $shorter = Receive-BpfEvent $collection.Maps.events -Type big_event -First 3 -Timeout 2
        $big.head.GetType().FullName | Should -BeLike 'BpfPS.Records.event*'
        $big.head.marker | Should -Be 7
        , $big.head.args | Should -BeOfType [uint32[]]
        , $big.extra | Should -BeOfType [uint64[]]
        $big.extra | Should -Be @(0, 1, 2, 3)
        $short.head.marker | Should -Be 8
        $short.head.args | Should -Be @(8..15)
        $short.extra | Should -BeNullOrEmpty
        $shorter.head.seq | Should -Not -BeNullOrEmpty
        $shorter.head.marker | Should -Be 9
        $shorter.head.comm | Should -Be 'bpfps-events'
        $shorter.extra | Should -BeNullOrEmpty
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 2 9) | Out-Null
        $cut = Receive-BpfEvent $collection.Maps.events -Type event -First 1 -Timeout 2
        $cut.marker | Should -Be 9
        $cut.stamp | Should -BeNullOrEmpty
        $cut.args | Should -BeNullOrEmpty
    }

    It 'writes received records back: Send-BpfEvent and Set-BpfMapEntry take them as they are' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 50) -Repeat 2 | Out-Null
        $events = Receive-BpfEvent $collection.Maps.events -Type event -First 2 -Timeout 2
        $events | Send-BpfEvent $collection.Maps.user_events -Type event
        Invoke-BpfProgram $collection.Programs.user_drain -Data (New-Request) | Out-Null
        (Get-BpfMapEntry $collection.Maps.drained 0).Value | Should -Be 2
        (Get-BpfMapEntry $collection.Maps.drained 1).Value | Should -Be ($events[0].seq + $events[1].seq)
        (Get-BpfMapEntry $collection.Maps.drained 3).Value | Should -Be 64
        $events[1].marker = 77
        $events[1].args[7] = 5
        Set-BpfMapEntry $collection.Maps.saved_events -Key 1 -Value $events[1]
        $saved = (Get-BpfMapEntry $collection.Maps.saved_events 1).Value
        $saved.marker | Should -Be 77
        $saved.comm | Should -Be 'bpfps-events'
        $saved.stamp | Should -Be $events[1].stamp
        $saved.args | Should -Be @(50, 51, 52, 53, 54, 55, 56, 5)
    }

    It 'returns raw records without -Type, and finds the map by id' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 5) | Out-Null
        $record = Receive-BpfEvent $collection.Maps.events.Id -First 1 -Timeout 2
        $record | Should -BeOfType BpfPS.BpfEventRecord
        $record.Length | Should -Be 64
        $record.Map | Should -Be 'events'
        [BitConverter]::ToUInt32($record.Data, 4) | Should -Be 5
    }

    It 'finds the record type through a program using the map when given only its id' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 2 6) | Out-Null
        $event = Receive-BpfEvent $collection.Maps.events.Id -Type 'struct event' -First 1 -Timeout 2
        $event.marker | Should -Be 6
        $event.stamp | Should -BeNullOrEmpty   # a 24-byte record: stamp and args are not in it
    }

    It 'writes an error per record longer than -Type and goes on' {
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 3 1) | Out-Null
        Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 2) | Out-Null
        $events = Receive-BpfEvent $collection.Maps.events -Type event -First 1 -Timeout 2 -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad.Count | Should -Be 1
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'EventRecordTooLong*'
        $bad[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $bad[0].TargetObject.Length | Should -Be 96
        $events.marker | Should -Be 2
    }

    It 'refuses a map of the wrong type and a type not in the BTF' {
        { Receive-BpfEvent $collection.Maps.drained -Timeout 0 -ErrorAction Stop } | Should -Throw -ErrorId 'WrongMapType,BpfPS.Cmdlets.ReceiveBpfEventCommand'
        { Receive-BpfEvent $collection.Maps.events -Type no_such_struct -Timeout 0 } | Should -Throw -ErrorId 'EventTypeNotFound,BpfPS.Cmdlets.ReceiveBpfEventCommand'
    }

    It 'reads a perf buffer and a ring buffer together, with the CPU of perf records' {
        $ps = [powershell]::Create().AddScript({
                param($ModulePath, $Perf, $Ring)
                Import-Module $ModulePath
                Receive-BpfEvent $Perf, $Ring -First 4 -Timeout 10 -Verbose
            }).AddArgument($ModulePath).AddArgument($collection.Maps.perf_events).AddArgument($collection.Maps.events)
        try {
            $async = $ps.BeginInvoke()
            Wait-Reading $ps
            Invoke-BpfProgram $collection.Programs.perf_emit -Data (New-Request 0 9) -Repeat 2 | Out-Null
            Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 8) -Repeat 2 | Out-Null
            $records = $ps.EndInvoke($async)
            $records.Count | Should -Be 4
            ($records | Where-Object Map -EQ 'perf_events').Count | Should -Be 2
            ($records | Where-Object Map -EQ 'perf_events') | ForEach-Object { $_.Cpu | Should -BeGreaterOrEqual 0 }
            ($records | Where-Object Map -EQ 'events') | ForEach-Object { $_.Cpu | Should -Be -1 }
        }
        finally { $ps.Dispose() }
    }

    It 'stops within 100 ms when the pipeline is stopped (Ctrl+C) and leaves no descriptor open' {
        $id = $collection.Maps.perf_events.Id
        $ring = $collection.Maps.events.Id
        $before = Get-FdCount
        $ps = [powershell]::Create().AddScript({
                param($ModulePath, $Perf, $Ring)
                Import-Module $ModulePath
                Receive-BpfEvent $Perf, $Ring -Verbose
            }).AddArgument($ModulePath).AddArgument($id).AddArgument($ring)
        try {
            $async = $ps.BeginInvoke()
            Wait-Reading $ps
            Start-Sleep -Milliseconds 200   # blocked in its wait
            $ps.InvocationStateInfo.State | Should -Be 'Running'
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $watch.ElapsedMilliseconds | Should -BeLessThan 100
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        }
        finally { $ps.Dispose() }
        Get-FdCount | Should -Be $before
    }

    It 'works from Start-ThreadJob while this runspace goes on' {
        $map = $collection.Maps.events
        $job = Start-ThreadJob {
            Import-Module $using:ModulePath
            Receive-BpfEvent $using:map -Type event -First 2 -Timeout 10
        }
        try {
            Start-Sleep -Milliseconds 1500
            $other = Import-BpfCollection -Path $EventsObject   # the first runspace keeps loading meanwhile
            Remove-BpfCollection $other
            Invoke-BpfProgram $collection.Programs.ringbuf_emit -Data (New-Request 0 77) -Repeat 2 | Out-Null
            $events = $job | Wait-Job -Timeout 20 | Receive-Job
            $events.marker | Should -Be @(77, 77)
            $events.seq | Should -Be @(0, 1)
        }
        finally { $job | Remove-Job -Force }
    }

    It 'warns about lost perf samples and sums them up at the end' {
        $ps = [powershell]::Create().AddScript({
                param($ModulePath, $Perf)
                Import-Module $ModulePath
                Receive-BpfEvent $Perf -PerCpuBufferSize 4096 -Duration 4 -Verbose -WarningVariable +lost 3>$null | Out-Null
                $lost
            }).AddArgument($ModulePath).AddArgument($collection.Maps.perf_events)
        try {
            $async = $ps.BeginInvoke()
            Wait-Reading $ps
            # 20000 samples of 216 bytes in one burst: a 4 KiB ring holds 18 at a time, and a reader draining it from the
            # other CPU as the burst runs cannot keep pace with the kernel for that long.
            Invoke-BpfProgram $collection.Programs.perf_emit -Data (New-Request 9 1 200) -Repeat 20000 | Out-Null
            Start-Sleep -Milliseconds 300
            Invoke-BpfProgram $collection.Programs.perf_emit -Data (New-Request 9 2 200) | Out-Null
            $warnings = $ps.EndInvoke($async)
            $warnings | Should -Not -BeNullOrEmpty
            ($warnings -join "`n") | Should -Match 'samples lost'
            ($warnings -join "`n") | Should -Match 'In all \d+ samples were lost'
        }
        finally { $ps.Dispose() }
    }
}

Describe 'The exec tracer example' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $tracer = $null
    }
    AfterEach {
        if ($tracer) { Remove-BpfCollection $tracer }
    }

    It 'reports the programs this process starts, with parent, command and file name' {
        $tracer = Import-BpfCollection -Path (Join-Path $RepoRoot 'examples/exec_tracer.o') -Attach
        /bin/true
        /bin/uname | Out-Null
        $events = @(Receive-BpfEvent $tracer.Maps.events -Type event -Timeout 1 -TimeField ts | Where-Object ppid -EQ $PID)
        $events.filename | Should -Contain '/bin/true'
        $events.filename | Should -Contain '/bin/uname'
        ($events | Where-Object filename -EQ '/bin/true').comm | Should -Be 'true'
        $events | ForEach-Object { $_.pid | Should -BeGreaterThan 0; $_.ts | Should -BeOfType [datetime] }
    }
}

Describe 'Send-BpfEvent' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $EventsObject
    }
    AfterEach {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'writes BTF-encoded records that a program drains' {
        @{ seq = 10; marker = 1 }, [pscustomobject]@{ seq = 20; marker = 2 } | Send-BpfEvent $collection.Maps.user_events -Type event
        Invoke-BpfProgram $collection.Programs.user_drain -Data (New-Request) | Out-Null
        (Get-BpfMapEntry $collection.Maps.drained 0).Value | Should -Be 2
        (Get-BpfMapEntry $collection.Maps.drained 1).Value | Should -Be 30
        (Get-BpfMapEntry $collection.Maps.drained 2).Value | Should -Be 2
    }

    It 'writes byte arrays without -Type, and nothing with -WhatIf' {
        $record = [byte[]]::new(8); $record[0] = 7; $record[4] = 3
        Send-BpfEvent $collection.Maps.user_events -InputObject (, $record) -WhatIf
        Invoke-BpfProgram $collection.Programs.user_drain -Data (New-Request) | Out-Null
        (Get-BpfMapEntry $collection.Maps.drained 0).Value | Should -Be 0
        Send-BpfEvent $collection.Maps.user_events -InputObject (, $record)
        Invoke-BpfProgram $collection.Programs.user_drain -Data (New-Request) | Out-Null
        (Get-BpfMapEntry $collection.Maps.drained 1).Value | Should -Be 7
        (Get-BpfMapEntry $collection.Maps.drained 3).Value | Should -Be 8
    }

    It 'refuses bad values, non-bytes without -Type and the wrong map type' {
        Send-BpfEvent $collection.Maps.user_events -Type event @{ nope = 1 } -ErrorVariable bad -ErrorAction SilentlyContinue
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEventRecord*'
        Send-BpfEvent $collection.Maps.user_events 'text' -ErrorVariable bad2 -ErrorAction SilentlyContinue
        $bad2[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEventRecord*'
        { Send-BpfEvent $collection.Maps.events -InputObject (, [byte[]]::new(8)) } | Should -Throw -ErrorId 'WrongMapType,BpfPS.Cmdlets.SendBpfEventCommand'
    }
}

Describe 'Receive-BpfTraceLog' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $EventsObject
    }
    AfterEach {
        if ($collection) { Remove-BpfCollection $collection }
    }

    It 'returns bpf_printk lines as objects, filtered by message' {
        $marker = [uint32]$PID
        $ps = [powershell]::Create().AddScript({
                param($ModulePath, $Pattern)
                Import-Module $ModulePath
                Receive-BpfTraceLog $Pattern -First 1 -Timeout 10
            }).AddArgument($ModulePath).AddArgument("bpfps-events marker=$marker *")
        try {
            $async = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 1000
            Invoke-BpfProgram $collection.Programs.printk_emit -Data (New-Request 0 $marker) | Out-Null
            $line = $ps.EndInvoke($async)
            $line.Count | Should -Be 1
            $line[0].Message | Should -Match "^bpfps-events marker=$marker seq=\d+$"
            $line[0].Function | Should -Be 'bpf_trace_printk'
            $line[0].Cpu | Should -BeGreaterOrEqual 0
            $line[0].ProcessId | Should -BeGreaterThan 0
        }
        finally { $ps.Dispose() }
    }

    It 'stops at -Timeout when nothing matches' {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Receive-BpfTraceLog 'no line says this *' -Timeout 0.3 | Should -BeNullOrEmpty
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 3
    }
}
