# BpfPS over PowerShell remoting (SSH): what results look like after the trip, and a fleet of real sshd hosts (one per
# network namespace, see FleetHosts.ps1) that load, count, fail, close and pin as operators would.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    # Every type an exported cmdlet declares, and the types those carry (collection members, BTF members, specs):
    # each needs a view for its deserialized form. Types other code adds later are caught here at merge.
    $module = Get-Module BpfPS
    $declared = foreach ($command in $module.ExportedCmdlets.Values) {
        foreach ($output in $command.OutputType) { if ($output.Type) { $output.Type.FullName } else { $output.Name } }
    }
    $carried = 'BpfPS.Core.Loading.LoadedProgram', 'BpfPS.Core.Loading.LoadedMap', 'BpfPS.BtfMemberInfo',
        'BpfPS.BpfProgramSpecInfo', 'BpfPS.Core.Loading.MapSpec'
    $OutputTypes = @($declared + $carried | Where-Object { $_ -and $_ -notlike 'System.*' } | Sort-Object -Unique |
            ForEach-Object { @{ TypeName = $_ } })
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    . $PSScriptRoot/FleetHosts.ps1
    Import-Module $ModulePath -Force
    # What a result looks like after a trip through remoting, without the trip: the same serializer, the same
    # properties remoting adds.
    function ConvertTo-Remote($InputObject, [string] $ComputerName = 'web1') {
        foreach ($item in $InputObject) {
            $copy = [Management.Automation.PSSerializer]::Deserialize([Management.Automation.PSSerializer]::Serialize($item))
            $copy.PSObject.Properties.Add([psnoteproperty]::new('PSComputerName', $ComputerName))
            $copy.PSObject.Properties.Add([psnoteproperty]::new('RunspaceId', [guid]::NewGuid()))
            $copy.PSObject.Properties.Add([psnoteproperty]::new('PSShowComputerName', $true))
            $copy
        }
    }
    function Render($InputObject, [int] $Width = 120) { ($InputObject | Out-String -Width $Width) -split "`r?`n" | Where-Object { $_.Trim() } }
    # Waits up to 15 s for a process (a host's pwsh, visible here: the hosts share this PID namespace) to end.
    function Wait-ProcessExit([int] $Id) {
        $deadline = [DateTime]::UtcNow.AddSeconds(15)
        while ((Test-Path "/proc/$Id") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        -not (Test-Path "/proc/$Id")
    }
    # How many of these program and map ids host 1's kernel still has, asked through the fleet's session there.
    function Get-LeftOnHost([uint32[]] $ProgramIds, [uint32[]] $MapIds) {
        Invoke-Command -Session $sessions[0] -ArgumentList $ProgramIds, $MapIds {
            param($programIds, $mapIds)
            @(if ($programIds) { Get-BpfProgram -Id $programIds -ErrorAction SilentlyContinue }).Count +
                @(if ($mapIds) { Get-BpfMap -Id $mapIds -ErrorAction SilentlyContinue }).Count
        }
    }
    $MapValuesObject = Join-Path $FixturesPath 'map_values.o'
}

Describe 'Results after a trip through remoting' {
    It 'has a default view for Deserialized.<TypeName>' -ForEach $OutputTypes {
        Get-FormatData -TypeName "Deserialized.$TypeName" | Should -Not -BeNullOrEmpty -Because "$TypeName comes back from remote hosts as Deserialized.$TypeName"
    }

    It 'keeps a BTF type''s members as objects and leaves the core type home' {
        $type = ConvertTo-Remote (Get-BtfType -Path $ExampleObject -Name xdp_md)
        $type.PSObject.TypeNames | Should -Contain 'Deserialized.BpfPS.BtfTypeInfo'
        $type.PSObject.Properties.Name | Should -Not -Contain 'Type'
        $type.Members[1].PSObject.TypeNames | Should -Contain 'Deserialized.BpfPS.BtfMemberInfo'
        $type.Members[1].TypeName | Should -Be '__u32'
        $type.Members[1].Name | Should -Be 'data_end'
        $type.Declaration | Should -Match 'struct xdp_md \{'
        $type | Format-Custom -View Declaration | Out-String | Should -Match '/\* Struct #\d+ \*/\s+struct xdp_md \{'
        $lines = Render $type.Members
        # Members travel inside their type, so they carry no PSComputerName of their own.
        $lines[0] | Should -Match '^\s*Offset\s+BitOffset\s+Bits\s+TypeName\s+Name\s*$'
        $lines | Where-Object { $_ -match '^\s*4\s+32\s+__u32\s+data_end\s*$' } | Should -HaveCount 1
    }

    It 'keeps programs and maps of a collection, without descriptors' {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $ExampleObject
        try {
            $copy = ConvertTo-Remote $collection
            $copy.Programs.count_packets.Id | Should -Be $collection.Programs.count_packets.Id
            $copy.Programs.count_packets.PSObject.TypeNames | Should -Contain 'Deserialized.BpfPS.Core.Loading.LoadedProgram'
            $copy.Maps.packets.MaxEntries | Should -Be 1
            $copy.Maps.packets.PSObject.Properties.Name | Should -Not -Contain 'Fd'
            $copy.Maps.packets.PSObject.Properties.Name | Should -Not -Contain 'Btf'
            $lines = Render $copy
            $lines[0] | Should -Match '^\s*Id\s+Name\s+State\s+Programs\s+Maps\s+PSComputerName\s*$'
            $lines[0] | Should -Not -Match 'RunspaceId'
        }
        finally { Remove-BpfCollection $collection }
    }

    It 'keeps nested struct values as properties and shows them spelled out' {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $MapValuesObject
        try {
            $entry = ConvertTo-Remote (Get-BpfMapEntry -Collection $collection -Name .data.sample)
            $entry.Value.sample.f.level | Should -Be 5
            $entry.Value.sample.pair.hi | Should -Be 65535
            $entry.Value.sample.matrix[1][0] | Should -Be -3
            $lines = Render $entry -Width 400
            $lines[0] | Should -Match '^\s*Map\s+Key\s+Value\s+PSComputerName\s*$'
            $lines[2] | Should -Match '^\.data\.sample\s+0\s+\{sample=\{tiny=-5, port=8080, .*history=\[-1, 0, 32767\], f=\{ready=1, level=5, delta=-3, tint=BLUE'
        }
        finally { Remove-BpfCollection $collection }
    }

    It 'fits the program inventory and the host name in 120 columns' {
        Skip-Unless $IsRoot $NeedsRoot
        $collection = Import-BpfCollection -Path $ExampleObject
        try {
            $lines = Render (ConvertTo-Remote (Get-BpfProgram -Collection $collection) -ComputerName '100.100.100.100')
            $lines[0] | Should -Match '^\s*Id\s+Type\s+Name\s+Tag\s+Runs\s+Maps\s+Pinned\s+PSComputerName\s*$'
            $lines[2] | Should -Match "^\s*$($collection.Programs.count_packets.Id)\s+Xdp\s+count_packets\s+[0-9a-f]{16}\s+\d+\s+[\d,…]+\s+100\.100\.100\.100\s*$"
        }
        finally { Remove-BpfCollection $collection }
    }
}

Describe 'A fleet of SSH hosts' {
    BeforeAll {
        $FleetSkip = Get-FleetSkipReason
        $fleet = $null
        $sessions = @()
        if (-not $FleetSkip) {
            # Four live hosts and a fifth whose sshd never starts. The hosts find BpfPS where the documented install
            # puts it (their own module directory, the only one on their PSModulePath).
            $fleet = New-FleetHosts -Count 5 -Down 5
            $live = @($fleet.Hosts | Where-Object { -not $_.Down })
            $sessions = @(New-FleetSession $fleet $live)
            $installed = for ($i = 0; $i -lt $live.Count; $i++) {
                & $RepoRoot/tools/Install-BpfPSRemote.ps1 -Session $sessions[$i] -Path (Split-Path $ModulePath) -Destination $live[$i].Modules
            }
            $addresses = @($live | ForEach-Object Address)
            $byAddress = @{}; $live | ForEach-Object { $byAddress[$_.Address] = $_ }
        }
    }
    AfterAll {
        if ($sessions) { Remove-PSSession $sessions -ErrorAction Ignore }
        Remove-FleetHosts $fleet
    }
    BeforeEach {
        if ($FleetSkip) { Set-ItResult -Skipped -Because $FleetSkip }
    }

    It 'installs the module on every host through the session' {
        $installed.Count | Should -Be 4
        $elsewhere = Join-Path $fleet.Hosts[0].Directory 'Elsewhere'
        & $RepoRoot/tools/Install-BpfPSRemote.ps1 -Session $sessions[0] -Path (Split-Path $ModulePath) -Destination $elsewhere -WhatIf
        Test-Path $elsewhere | Should -BeFalse
        foreach ($result in $installed) {
            $result.Path | Should -Be (Join-Path $byAddress[$result.PSComputerName].Modules "BpfPS/$((Get-Module BpfPS).Version)")
            $result.Version | Should -Be (Get-Module BpfPS).Version
        }
    }

    It 'runs each host under its own hostname, and pins each host''s key' {
        $names = Invoke-Command -Session $sessions { hostname }
        foreach ($name in $names) { $name | Should -Be $byAddress[$name.PSComputerName].HostName }
        # A host whose key is not the pinned one is refused: give the client another host's address in known_hosts.
        $wrong = Join-Path $fleet.Root 'wrong_known_hosts'
        (Get-Content $fleet.KnownHosts) -replace "^$([regex]::Escape($addresses[0])) ", 'x ' -replace "^$([regex]::Escape($addresses[1])) ", "$($addresses[0]) " |
            Set-Content $wrong
        $options = Get-FleetSshOptions $fleet
        $options.UserKnownHostsFile = $wrong
        $options.LogLevel = 'QUIET'
        # The fleet's sessions to the same host with the right known_hosts work: the key is the only difference.
        $opened = New-PSSession -HostName $addresses[0] -UserName root -KeyFilePath $fleet.KeyFile -Options $options -ConnectingTimeout 30000 -ErrorVariable refused -ErrorAction SilentlyContinue 2>$null
        if ($opened) { Remove-PSSession $opened }
        $opened | Should -BeNullOrEmpty
        $refused.Count | Should -Be 1
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'PSSessionOpenFailed*'
        $refused[0].TargetObject.ConnectionInfo.ComputerName | Should -Be $addresses[0]
    }

    It 'loads on every host, and each host counts its own runs' {
        foreach ($i in 0..($sessions.Count - 1)) {
            Copy-Item $ExampleObject -Destination $byAddress[$addresses[$i]].Directory -ToSession $sessions[$i]
        }
        # Host n runs the program 2n+1 times: each answer must be its own host's count, not another's or the sum.
        $directories = @{}; $fleet.Hosts | ForEach-Object { $directories[$_.HostName] = $_.Directory }
        $results = Invoke-Command -Session $sessions -ArgumentList $directories {
            param($directories)
            $script:collection = Import-BpfCollection -Path (Join-Path $directories[(hostname)] 'packet_counter.o')
            $runs = 2 * [int]((hostname) -replace '.*-') + 1
            Invoke-BpfProgram -Collection $collection -Name count_packets -Data ([byte[]]::new(64)) -Repeat $runs | Out-Null
            Get-BpfMapEntry -Collection $collection -Name packets -Key 0
        }
        $results.Count | Should -Be 4
        $results | ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'Deserialized.BpfPS.BpfMapEntry' }
        foreach ($group in $results | Group-Object PSComputerName) {
            $group.Count | Should -Be 1
            $group.Group[0].Value | Should -Be (2 * $byAddress[$group.Name].Index + 1)
        }
        # Four different programs in the one kernel the namespaces share.
        $ids = Invoke-Command -Session $sessions { $collection.Programs.count_packets.Id }
        ($ids | Sort-Object -Unique).Count | Should -Be 4
    }

    It 'shows remote results like local ones, with the host instead of RunspaceId' {
        $lines = Render (Invoke-Command -Session $sessions { Get-BpfProgram -Collection $collection }) -Width 120
        $lines[0] | Should -Match '^\s*Id\s+Type\s+Name\s+Tag\s+Runs\s+Maps\s+Pinned\s+PSComputerName\s*$'
        foreach ($address in $addresses) {
            $lines | Where-Object { $_ -match "\s+Xdp\s+count_packets\s+.*\s$([regex]::Escape($address))\s*$" } | Should -HaveCount 1
        }
        $entries = Render (Invoke-Command -Session $sessions[0] { Get-BpfMapEntry -Collection $collection -Name .rodata })
        $entries[0] | Should -Match '^\s*Map\s+Key\s+Value\s+PSComputerName\s*$'
        $entries[2] | Should -Match "^\.rodata\s+0\s+\{verdict=2\}\s+$([regex]::Escape($addresses[0]))\s*$"
        $members = Invoke-Command -Session $sessions[0] { (Get-BtfType -Name list_head).Members }
        $text = Render $members
        $text[0] | Should -Match '^\s*Offset\s+BitOffset\s+Bits\s+TypeName\s+Name\s+PSComputerName\s*$'
        $text[3] | Should -Match '^\s*8\s+64\s+struct list_head \*\s+prev\s+'
        Render (Invoke-Command -Session $sessions[0] { $collection }) | Should -Not -Match 'RunspaceId'
    }

    It 'returns a host''s error as an error record with its category and the host''s name' {
        Import-BpfCollection -Path $ExampleObject -OutVariable local | Out-Null
        try { Get-BpfMapEntry -Collection $local[0] -Name nope -ErrorVariable localError -ErrorAction SilentlyContinue }
        finally { Remove-BpfCollection $local[0] }
        $out = Invoke-Command -Session $sessions { Get-BpfMapEntry -Collection $collection -Name nope } -ErrorVariable remoteErrors -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $remoteErrors.Count | Should -Be 4
        ($remoteErrors | ForEach-Object { $_.OriginInfo.PSComputerName } | Sort-Object) | Should -Be ($addresses | Sort-Object)
        foreach ($err in $remoteErrors) {
            $err | Should -BeOfType [Management.Automation.ErrorRecord]
            $err.CategoryInfo.Category | Should -Be $localError[0].CategoryInfo.Category
            $err.FullyQualifiedErrorId | Should -BeLike "$(($localError[0].FullyQualifiedErrorId -split ',')[0]),*"
            $err.Exception.Message | Should -Be $localError[0].Exception.Message
        }
    }

    It 'answers from the live hosts when one is down, and names the dead one' {
        # A fresh connection to each (a live host and the dead one): -HostName opens them all at once. PowerShell can
        # miss the exit of the ssh client of a refused connection and wait on it; -ConnectingTimeout bounds that wait.
        $dead = ($fleet.Hosts | Where-Object Down).Address
        $asked = $addresses[0], $dead
        $answers = Invoke-Command -HostName $asked -UserName root -KeyFilePath $fleet.KeyFile -Options (Get-FleetSshOptions $fleet) -ConnectingTimeout 30000 {
            Import-Module BpfPS; (Get-BtfType -Name task_struct).Size
        } -ErrorVariable failures -ErrorAction SilentlyContinue 2>$null
        $answers.PSComputerName | Should -Be $addresses[0]
        $answers | ForEach-Object { $_ | Should -Be (Get-BtfType -Name task_struct).Size }
        $failures.Count | Should -Be 1
        $failures[0] | Should -BeOfType [Management.Automation.ErrorRecord]
        $failures[0].TargetObject | Should -Be $dead
        $failures[0].CategoryInfo.Category | Should -Be 'OpenError'
    }

    It 'frees what a session loaded when it closes or its connection drops; its pin stays for the next session' {
        # The first session's own pwsh on host 1 loads, writes a counter and pins that one map; then the session closes.
        $address = $fleet.Hosts[0].Address
        $pin = if ($BpffsMounted) { "/sys/fs/bpf/bpfps-fleet-$PID-packets" }
        $first = $second = $null
        try {
            $first = New-FleetSession $fleet $fleet.Hosts[0]
            $state = Invoke-Command -Session $first -ArgumentList $ExampleObject, $pin {
                param($object, $pin)
                $before = (Get-ChildItem /proc/self/fd).Count
                $c = Import-BpfCollection -Path $object
                Set-BpfMapEntry -Collection $c -Name packets -Key 0 -Value 4242
                if ($pin) { Add-BpfPin -Map $c.Maps.packets -Path $pin | Out-Null }
                [pscustomobject]@{
                    Pid         = $PID
                    FdsBefore   = $before
                    FdsAfter    = (Get-ChildItem /proc/self/fd).Count
                    ProgramIds  = @((Get-BpfProgram -Collection $c).Id)
                    MapIds      = @((Get-BpfMap -Collection $c).Id)
                    PinnedMapId = $c.Maps.packets.Id
                }
            }
            $state.FdsAfter | Should -BeGreaterOrEqual ($state.FdsBefore + $state.ProgramIds.Count + $state.MapIds.Count)
            (Invoke-Command -Session $sessions[0] -ArgumentList (, $state.ProgramIds) { param($ids) Get-BpfProgram -Id $ids }).Count | Should -Be 1
            Remove-PSSession $first; $first = $null

            # The host's pwsh ends, and with it the descriptors: the kernel frees what nothing else holds.
            Wait-ProcessExit $state.Pid | Should -BeTrue
            $unpinned = @($state.MapIds | Where-Object { -not $pin -or $_ -ne $state.PinnedMapId })
            Get-LeftOnHost $state.ProgramIds $unpinned | Should -Be 0
            # The host's other session still has its own program.
            (Invoke-Command -Session $sessions[0] { Get-BpfProgram -Collection $collection }).Name | Should -Be 'count_packets'

            # A new session reads the pinned map back, loads its own collection, then loses its connection.
            $clients = @(Get-FleetSshClient $address)
            $second = New-FleetSession $fleet $fleet.Hosts[0]
            $client = @(Get-FleetSshClient $address | Where-Object { $_ -notin $clients })
            $client.Count | Should -Be 1
            if ($pin) {
                $entry = Invoke-Command -Session $second -ArgumentList $pin { param($pin) Get-BpfMapEntry $pin -Key 0 }
                $entry.Value | Should -Be 4242
                $entry.MapId | Should -Be $state.PinnedMapId
                $entry.PSComputerName | Should -Be $address
            }
            $dropped = Invoke-Command -Session $second -ArgumentList $ExampleObject {
                param($object)
                $c = Import-BpfCollection -Path $object
                [pscustomobject]@{ Pid = $PID; ProgramIds = @($c.Programs.count_packets.Id); MapIds = @((Get-BpfMap -Collection $c).Id) }
            }
            Stop-Process -Id $client[0] -Force
            Wait-ProcessExit $dropped.Pid | Should -BeTrue
            Get-LeftOnHost $dropped.ProgramIds $dropped.MapIds | Should -Be 0
            if (-not $pin) { Set-ItResult -Skipped -Because "the pinned map part: $NeedsBpffs" }
        }
        finally {
            if ($first) { Remove-PSSession $first }
            if ($second) { Remove-PSSession $second }
            if ($pin) { Remove-Item -LiteralPath $pin -ErrorAction Ignore }
        }
    }

    It 'fans out in parallel up to the throttle limit' {
        # Each host waits 400 ms after its work: with -ThrottleLimit 4 four hosts take about one wait, with 1 four.
        $work = { Get-BpfProgram -Id $collection.Programs.count_packets.Id | Out-Null; Start-Sleep -Milliseconds 400 }
        Invoke-Command -Session $sessions $work | Out-Null
        $time = @{}
        foreach ($n in 1, 2, 4) {
            $time["$n"] = (Measure-Command { Invoke-Command -Session $sessions[0..($n - 1)] -ThrottleLimit $n $work }).TotalMilliseconds
        }
        $serial = (Measure-Command { Invoke-Command -Session $sessions -ThrottleLimit 1 $work }).TotalMilliseconds
        Write-Host ("    fan-out: 1 host {0:N0} ms, 2 hosts {1:N0} ms, 4 hosts {2:N0} ms (-ThrottleLimit = hosts); 4 hosts -ThrottleLimit 1: {3:N0} ms" -f $time['1'], $time['2'], $time['4'], $serial)
        $serial | Should -BeGreaterOrEqual 1600
        $time['4'] | Should -BeLessThan ($serial / 2)
    }
}
