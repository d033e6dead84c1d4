# New-BpfLink / Get-BpfLink / Remove-BpfLink / Update-BpfLink / Invoke-BpfIterator and Import-BpfCollection -Attach in
# the real kernel: programs of links_tracing.o count the getppid calls of this thread (filter_tid), so other processes
# on the machine never change a count. bpftool is the independent reference for the link inventory.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    $canLoad = $IsRoot
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $object = Join-Path $FixturesPath 'links_tracing.o'
    $unavailable = Join-Path $FixturesPath 'links_unavailable.o'
    if (-not ('BpfPSLinkTests.Native' -as [type])) {
        Add-Type -Namespace BpfPSLinkTests -Name Native -MemberDefinition @'
[System.Runtime.InteropServices.DllImport("libc")] public static extern int gettid();
[System.Runtime.InteropServices.DllImport("libc")] public static extern int getppid();
'@
    }
    $slots = @{ Tp = 0; RawTp = 1; TpBtf = 2; Uprobe = 3; PerfEvent = 6; TpV2 = 7 }

    function Get-Count($Collection, [string] $Slot) {
        $value = $Collection.Maps['counts'].Lookup([BitConverter]::GetBytes([uint32] $slots[$Slot]))
        [BitConverter]::ToUInt64($value, 0)
    }
    # Count only this thread's events, then make them on this thread.
    function Set-ThreadFilter($Collection, [int] $Tid = [BpfPSLinkTests.Native]::gettid()) {
        $bss = $Collection.Maps['.bss']
        $value = [byte[]]::new($bss.ValueSize)
        [BitConverter]::GetBytes([int] $Tid).CopyTo($value, 0)
        $bss.Update([byte[]]::new(4), $value)
    }
    function Invoke-Getppid([int] $Count) { for ($i = 0; $i -lt $Count; $i++) { $null = [BpfPSLinkTests.Native]::getppid() } }
    function Get-BpftoolLink([uint32] $Id) {
        $text = & $Bpftool link show id $Id -j 2>$null
        if ($LASTEXITCODE -ne 0) { return $null }
        $text | ConvertFrom-Json
    }
    # The kernel releases links asynchronously: poll for an id to disappear.
    function Wait-LinkGone([uint32] $Id) {
        for ($i = 0; $i -lt 100; $i++) {
            if (-not (Get-BpfLink -Id $Id -ErrorAction SilentlyContinue)) { return $true }
            Start-Sleep -Milliseconds 50
        }
        $false
    }
}

Describe 'New-BpfLink and Remove-BpfLink' -Skip:(-not $canLoad) {
    BeforeAll { $c = Import-BpfCollection $object; Set-ThreadFilter $c }
    AfterAll { Remove-BpfCollection $c }

    It 'attaches where the section says, counts real events, and stops when removed' {
        $link = New-BpfLink $c.Programs.count_tp
        $link.Kind | Should -Be 'perf_event'
        $link.Target | Should -Be 'tracepoint syscalls/sys_enter_getppid'
        Invoke-Getppid 20
        Get-Count $c Tp | Should -Be 20
        Remove-BpfLink $link
        $link.IsDisposed | Should -BeTrue
        Invoke-Getppid 5
        Get-Count $c Tp | Should -Be 20
        Wait-LinkGone $link.Id | Should -BeTrue
    }

    It 'attaches by hand to a tracepoint and a raw tracepoint' {
        $tp = New-BpfLink $c.Programs.count_tp_v2 -Tracepoint syscalls/sys_enter_getppid
        $raw = New-BpfLink $c.Programs.count_raw_tp -RawTracepoint sys_enter
        try {
            Invoke-Getppid 6
            Get-Count $c TpV2 | Should -Be 6
            Get-Count $c RawTp | Should -Be 6
            $raw.Kind | Should -Be 'raw_tracepoint'
        }
        finally { $tp, $raw | Remove-BpfLink }
    }

    It 'leaves the link attached under -WhatIf' {
        $link = New-BpfLink $c.Programs.count_tp_btf
        try {
            Remove-BpfLink $link -WhatIf
            $link.IsDisposed | Should -BeFalse
            Invoke-Getppid 3
            Get-Count $c TpBtf | Should -Be 3
        }
        finally { Remove-BpfLink $link }
    }

    It 'samples a software clock on every CPU' {
        $links = @(New-BpfLink $c.Programs.count_perf_event -PerfEvent CpuClock -Frequency 1000)
        try {
            $links.Count | Should -Be ([BpfPS.Core.Links.PerfEventLinks]::OnlineCpus().Count)
            @($links.Target | Select-Object -Unique).Count | Should -Be $links.Count
            $deadline = (Get-Date).AddSeconds(5)
            while ((Get-Count $c PerfEvent) -lt 20 -and (Get-Date) -lt $deadline) { $null = 1..20000 | Measure-Object -Sum }
            Get-Count $c PerfEvent | Should -BeGreaterOrEqual 20
        }
        finally { $links | Remove-BpfLink }
    }

    It 'counts calls of a function in a binary through a uprobe' {
        Skip-Unless (Get-Command gcc -ErrorAction Ignore) 'gcc is needed to build the probed program'
        $dir = New-Item -ItemType Directory (Join-Path ([IO.Path]::GetTempPath()) "bpfps-links-$PID-$(Get-Random)")
        try {
            Set-Content "$dir/t.c" '__attribute__((noinline)) int bpfps_probe_target(int x) { __asm__ volatile(""); return x + 1; }
int main(void) { int s = 0; for (int i = 0; i < 11; i++) s += bpfps_probe_target(i); return s == 0; }'
            & gcc -O1 -o "$dir/t" "$dir/t.c"
            Set-ThreadFilter $c 0
            $link = New-BpfLink $c.Programs.count_uprobe -Path "$dir/t" -Symbol bpfps_probe_target
            try {
                & "$dir/t"
                Get-Count $c Uprobe | Should -Be 11
            }
            finally { Remove-BpfLink $link }
            & "$dir/t"
            Get-Count $c Uprobe | Should -Be 11
        }
        finally {
            Set-ThreadFilter $c
            Remove-Item $dir -Recurse -Force
        }
    }

    It 'names the program, the target and the cause when the tracepoint does not exist' {
        $null = New-BpfLink $c.Programs.count_tp -Tracepoint syscalls/sys_enter_no_such_call -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LinkAttachFailed,ENOENT,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'count_tp -> tracepoint syscalls/sys_enter_no_such_call'
        $err[0].Exception.Message | Should -Match "cannot attach program 'count_tp' to tracepoint syscalls/sys_enter_no_such_call"
    }

    It 'refuses a program type that cannot attach there, and a kernel without kprobes' {
        $null = New-BpfLink $c.Programs.count_raw_tp -Tracepoint syscalls/sys_enter_getppid -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'cannot attach to a tracepoint'
        if (Test-Path /sys/bus/event_source/devices/kprobe) { Set-ItResult -Skipped -Because 'this kernel has kprobes'; return }
        $u = Import-BpfCollection $unavailable
        try {
            $null = New-BpfLink $u.Programs.second_kprobe -ErrorVariable err2 -ErrorAction SilentlyContinue
            $err2[0].CategoryInfo.Category | Should -Be 'NotImplemented'
            $err2[0].Exception.Message | Should -Match 'CONFIG_KPROBES is off'
        }
        finally { Remove-BpfCollection $u }
    }
}

Describe 'Import-BpfCollection -Attach and ownership' -Skip:(-not $canLoad) {
    It 'attaches every program whose section names a target' {
        $c = Import-BpfCollection $object -Attach
        try {
            @($c.Links.ProgramName) | Should -Be @('count_tp', 'count_tp_v2', 'count_raw_tp', 'count_tp_btf', 'dump_task', 'dump_task_v2', 'dump_task_records')
            Set-ThreadFilter $c
            Invoke-Getppid 4
            Get-Count $c Tp | Should -Be 4
            Get-Count $c RawTp | Should -Be 4
            @(Get-BpfLink -Collection $c).Count | Should -Be 7
        }
        finally { Remove-BpfCollection $c }
        # Removing the collection detached its links.
        foreach ($link in $c.Links) { throw "still attached: $link" }
        Invoke-Getppid 4
        foreach ($id in @(Get-BpfLink | Where-Object ProgramName -EQ 'count_tp').Id) { (Get-BpfLink -Id $id).ProgramId | Should -Not -Be $c.Programs.count_tp.Id }
    }

    It 'attaches a piped collection with New-BpfLink, all or nothing, keeping the collection on failure' {
        $c = Import-BpfCollection $object
        try {
            $links = @($c | New-BpfLink)
            $links.Count | Should -Be 7
            @($c.Links).Count | Should -Be 7
        }
        finally { Remove-BpfCollection $c }
        @($links | Where-Object { -not $_.IsDisposed }) | Should -BeNullOrEmpty
        if (Test-Path /sys/bus/event_source/devices/kprobe) { return }
        $u = Import-BpfCollection $unavailable
        try {
            $null = $u | New-BpfLink -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].TargetObject | Should -Be 'second_kprobe -> kprobe do_nanosleep'
            @($u.Links) | Should -BeNullOrEmpty
            $u.IsDisposed | Should -BeFalse
        }
        finally { Remove-BpfCollection $u }
    }

    It 'is all or nothing: a failing program detaches the others and removes the collection' {
        if (Test-Path /sys/bus/event_source/devices/kprobe) { Set-ItResult -Skipped -Because 'this kernel has kprobes, so the kprobe program would attach'; return }
        $before = @(Get-BpfCollection).Count
        $null = Import-BpfCollection $unavailable -Attach -ErrorVariable err -ErrorAction SilentlyContinue
        $err.Count | Should -Be 1
        $err[0].TargetObject | Should -Be 'second_kprobe -> kprobe do_nanosleep'
        @(Get-BpfCollection).Count | Should -Be $before
        @(Get-BpfLink | Where-Object ProgramName -EQ 'first_tp') | Should -BeNullOrEmpty
    }

    It 'detaches a runspace''s links when the runspace closes' {
        $ps = [powershell]::Create()
        try {
            $ids = $ps.AddScript("Import-Module '$ModulePath'; `$c = Import-BpfCollection '$object'; (New-BpfLink `$c.Programs.count_raw_tp -RawTracepoint sys_enter).Id").Invoke()
            $ids.Count | Should -Be 1
            Get-BpfLink -Id $ids[0] | Should -Not -BeNullOrEmpty
        }
        finally { $ps.Runspace.Close(); $ps.Dispose() }
        Wait-LinkGone $ids[0] | Should -BeTrue
    }

    It 'keeps a pinned link attached after its runspace closes, until the pin goes' {
        Skip-Unless $BpffsMounted $NeedsBpffs
        $dir = "/sys/fs/bpf/bpfps-links-$PID-$(Get-Random)"
        $ps = [powershell]::Create()
        try {
            $id = $ps.AddScript("Import-Module '$ModulePath'; `$c = Import-BpfCollection '$object'; `$l = New-BpfLink `$c.Programs.count_raw_tp -RawTracepoint sys_enter; `$null = Add-BpfPin `$l '$dir/raw'; `$l.Id").Invoke()[0]
            $ps.Runspace.Close()
            Start-Sleep -Milliseconds 200
            $pinned = Get-BpfLink -Path "$dir/raw"
            $pinned.Id | Should -Be $id
            $pinned.ProgramName | Should -Be 'count_raw_tp'
            (Get-BpfPin -Path "$dir/raw").Kind | Should -Be 'Link'
            # Not this session's link, and a kind the kernel cannot force-detach: the error says what to do instead.
            Remove-BpfLink -Id $id -Confirm:$false -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'LinkDetachNotSupported,*'
            $err[0].Exception.Message | Should -Match 'Remove-BpfPin'
            Get-BpfLink -Id $id | Should -Not -BeNullOrEmpty
            Remove-BpfPin -Path "$dir/raw"
            Wait-LinkGone $id | Should -BeTrue
        }
        finally {
            $ps.Dispose()
            Remove-Item $dir -Recurse -Force -ErrorAction Ignore
        }
    }
}

Describe 'Get-BpfLink' -Skip:(-not $canLoad) {
    BeforeAll {
        $c = Import-BpfCollection $object
        $tp = New-BpfLink $c.Programs.count_tp
        $raw = New-BpfLink $c.Programs.count_raw_tp
        $iter = New-BpfLink $c.Programs.dump_task -Iterator
    }
    AfterAll { Remove-BpfCollection $c }

    It 'lists the links just made, with their targets spelled out' {
        $listed = Get-BpfLink | Where-Object Id -In $tp.Id, $raw.Id, $iter.Id | Sort-Object Id
        @($listed.Kind) | Should -Be @('perf_event', 'raw_tracepoint', 'iter')
        ($listed | Where-Object Id -EQ $tp.Id).Target | Should -Be 'tracepoint sys_enter_getppid'
        ($listed | Where-Object Id -EQ $raw.Id).Target | Should -Be 'raw tracepoint sys_enter'
        ($listed | Where-Object Id -EQ $iter.Id).Target | Should -Be 'iterator task'
        @(Get-BpfLink -Program $c.Programs.count_tp).Id | Should -Be $tp.Id
    }

    It 'agrees with bpftool link show' {
        Skip-Unless $Bpftool $NeedsBpftool
        foreach ($link in $tp, $raw, $iter) {
            $kernel = Get-BpftoolLink $link.Id
            $mine = Get-BpfLink -Id $link.Id
            $mine.Id | Should -Be $kernel.id
            $mine.ProgramId | Should -Be $kernel.prog_id
            $mine.Kind | Should -Be $kernel.type
        }
        (Get-BpftoolLink $raw.Id).tp_name | Should -Be 'sys_enter'
        (Get-BpftoolLink $iter.Id).target_name | Should -Be 'task'
    }

    It 'formats links as a table with the default view' {
        $text = Get-BpfLink -Id $raw.Id | Out-String -Width 200
        $text | Should -Match 'raw_tracepoint'
        $text | Should -Match 'count_raw_tp'
        ($tp | Out-String -Width 200) | Should -Match 'tracepoint syscalls/sys_enter_getppid'
    }

    It 'reports an unknown id as not found' {
        $null = Get-BpfLink -Id 4294967290 -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'LinkNotFound,*'
    }
}

Describe 'Invoke-BpfIterator and Update-BpfLink' -Skip:(-not $canLoad) {
    BeforeAll { $c = Import-BpfCollection $object }
    AfterAll { Remove-BpfCollection $c }

    It 'runs an iterator program and returns its lines' {
        $lines = Invoke-BpfIterator $c.Programs.dump_task
        $lines | Should -Contain '2 kthreadd'
        @($lines | Where-Object { $_ -like "$PID *" }).Count | Should -BeGreaterThan 0
    }

    It 'decodes binary records through the object''s BTF' {
        $records = @(Invoke-BpfIterator $c.Programs.dump_task_records -Type 'struct task_record' | Where-Object pid -EQ $PID)
        $records.Count | Should -BeGreaterThan 0
        $records.tid | Should -Contain ([uint32] $PID)
        $records[0].GetType().FullName | Should -BeLike 'BpfPS.Records.task_record*'
        $records[0].pid | Should -BeOfType [uint32]
    }

    It 'swaps the program behind a link atomically' {
        $link = New-BpfLink $c.Programs.dump_task -Iterator
        try {
            Invoke-BpfIterator -Link $link | Should -Not -Contain "task $PID"
            Update-BpfLink $link $c.Programs.dump_task_v2
            $link.ProgramName | Should -Be 'dump_task_v2'
            (Get-BpfLink -Id $link.Id).ProgramId | Should -Be $c.Programs.dump_task_v2.Id
            Invoke-BpfIterator -Link $link | Should -Contain "task $PID"
        }
        finally { Remove-BpfLink $link }
    }

    It 'says so when a link kind cannot be updated' {
        $link = New-BpfLink $c.Programs.count_tp
        try {
            Update-BpfLink $link $c.Programs.count_tp_v2 -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'LinkAttachFailed*'
            (Get-BpfLink -Id $link.Id).ProgramId | Should -Be $c.Programs.count_tp.Id
        }
        finally { Remove-BpfLink $link }
    }
}
