# New-BpfLink's network parameter sets against the real kernel. The test builds its own two network namespaces joined by
# a veth pair and its own cgroup, sends traffic only between those namespaces, and removes everything it made.
BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $object = Join-Path $FixturesPath 'links_net.o'
    $HasNewBpfLink = [bool](Get-Command New-BpfLink -Module BpfPS -ErrorAction Ignore)
    $NeedsNewBpfLink = 'New-BpfLink is not exported by this build of the module'
    $HasIp = [bool](Get-Command ip -ErrorAction Ignore) -and [bool](Get-Command nsenter -ErrorAction Ignore)
    $CgroupRoot = '/sys/fs/cgroup/unified'
    $id = "$PID-$(Get-Random -Maximum 99999)"
    $Server = "links-net-ps-$id-s"
    $Client = "links-net-ps-$id-c"
    $Made = [Collections.Generic.List[string]]::new()

    # Counter slots of links_net.c.
    $Slot = @{ CgroupEgress = 5; SkLookup = 8 }
    function Get-Counter($Collection, [int] $Index) {
        [uint64](Get-BpfMapEntry $Collection.Maps['counters'] -Key $Index).Value
    }
    # Sends $Count UDP datagrams to the counted port from the client namespace (optionally from inside a cgroup).
    function Send-Datagrams([int] $Count, [string] $Cgroup) {
        $enter = if ($Cgroup) { "echo `$`$ > $Cgroup/cgroup.procs && " } else { '' }
        bash -c "$enter exec nsenter --net=/run/netns/$Client bash -c 'for i in `$(seq $Count); do echo x > /dev/udp/10.199.0.1/47001; done'"
        if ($LASTEXITCODE -ne 0) { throw "sending failed ($LASTEXITCODE)" }
    }

    if ($IsRoot -and $HasIp) {
        ip netns add $Server; $Made.Add($Server)
        ip netns add $Client; $Made.Add($Client)
        $short = "$($PID % 100000)$(Get-Random -Maximum 99)"
        ip link add "lps$short" netns $Server type veth peer name "lpc$short" netns $Client
        ip -n $Server addr add 10.199.0.1/30 dev "lps$short"
        ip -n $Client addr add 10.199.0.2/30 dev "lpc$short"
        ip -n $Server link set "lps$short" up
        ip -n $Client link set "lpc$short" up
        $ServerInterface = "lps$short"
    }
}

AfterAll {
    foreach ($ns in $Made) { ip netns del $ns }
}

Describe 'New-BpfLink network parameter sets' {
    It 'offers one parameter set per network mechanism' {
        Skip-Unless $HasNewBpfLink $NeedsNewBpfLink
        $sets = (Get-Command New-BpfLink).ParameterSets.Name
        foreach ($name in 'NetworkXdp', 'NetworkTcx', 'NetworkTc', 'NetworkCgroup', 'NetworkNamespace', 'NetworkSockMap', 'NetworkNetfilter', 'NetworkSocket') {
            $sets | Should -Contain $name
        }
        (Get-Command New-BpfLink).Parameters['XdpMode'].ParameterType | Should -Be ([BpfPS.Core.Netlink.XdpMode])
    }
}

Describe 'New-BpfLink attaches to network hooks' {
    BeforeEach {
        Skip-Unless $IsRoot $NeedsRoot
        Skip-Unless $HasIp 'iproute2 ip and util-linux nsenter are needed'
        Skip-Unless $HasNewBpfLink $NeedsNewBpfLink
        $c = Import-BpfCollection -Path $object
    }
    AfterEach {
        if ($c) { Remove-BpfCollection $c }
    }

    It 'attaches sk_lookup to a network namespace by path, counts its lookups, and stops when disposed' {
        $link = New-BpfLink $c.Programs.sk_lookup_count -NetworkNamespace "/run/netns/$Server"
        try {
            $link.Type | Should -Be 'Netns'
            $link.Target | Should -BeLike "*$Server*"
            $before = Get-Counter $c $Slot.SkLookup
            Send-Datagrams 3
            Get-Counter $c $Slot.SkLookup | Should -Be ($before + 3)
        }
        finally {
            $link | Remove-BpfLink -Confirm:$false
        }
        $stopped = Get-Counter $c $Slot.SkLookup
        Send-Datagrams 2
        Get-Counter $c $Slot.SkLookup | Should -Be $stopped
    }

    It 'attaches cgroup_skb to a cgroup v2 directory, taking the hook from the section' {
        $cgroup = Join-Path $CgroupRoot "links-net-ps-$id"
        New-Item -ItemType Directory $cgroup | Out-Null
        try {
            $link = New-BpfLink $c.Programs.cgroup_egress -Cgroup $cgroup
            try {
                $link.AttachType | Should -Be 'CgroupInetEgress'
                $before = Get-Counter $c $Slot.CgroupEgress
                Send-Datagrams 4 -Cgroup $cgroup
                Get-Counter $c $Slot.CgroupEgress | Should -Be ($before + 4)
                Send-Datagrams 2   # from outside the cgroup: not counted
                Get-Counter $c $Slot.CgroupEgress | Should -Be ($before + 4)
            }
            finally {
                $link | Remove-BpfLink -Confirm:$false
            }
            Send-Datagrams 2 -Cgroup $cgroup
            Get-Counter $c $Slot.CgroupEgress | Should -Be ($before + 4)
        }
        finally {
            [IO.Directory]::Delete($cgroup)   # rmdir: a cgroup's files go with it
        }
    }

    It 'writes an error naming the program and the cause for a path not on cgroup v2' {
        $result = New-BpfLink $c.Programs.cgroup_egress -Cgroup /tmp -ErrorVariable problems -ErrorAction SilentlyContinue
        $result | Should -BeNullOrEmpty
        $problems | Should -HaveCount 1
        $problems[0].Exception.Message | Should -BeLike "*cgroup_egress*not on a cgroup v2 filesystem*"
        $problems[0].FullyQualifiedErrorId | Should -BeLike 'LinkAttachFailed,EINVAL*'
        $problems[0].TargetObject | Should -BeLike 'cgroup_egress -> /tmp*'
    }

    It 'writes an error for an interface that does not exist' {
        New-BpfLink $c.Programs.xdp_count_a -Interface nosuchif0 -XdpMode Generic -ErrorVariable problems -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $problems[0].Exception.Message | Should -BeLike "*xdp_count_a*no network interface 'nosuchif0'*"
        $problems[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        New-BpfLink $c.Programs.tc_count_a -Interface lo -TcClassic Ingress -Priority 70000 -ErrorVariable bad -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty
        $bad[0].Exception.Message | Should -BeLike '*priority 70000*'
    }

    It 'attaches XDP, tcx and classic tc by interface name from a pwsh inside the namespace, each counting only while attached' {
        # The cmdlet resolves interface names in its own network namespace: a pwsh started there (nsenter keeps /sys as
        # it is) attaches to the server end of the veth; traffic still flows only between this test's namespaces.
        $output = & nsenter "--net=/run/netns/$Server" -- $PwshHost @PwshPrefix -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'LinksNetworkChild.ps1') `
            -ModulePath $ModulePath -Object $object -Interface $ServerInterface -ClientNamespace $Client
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $result = ($output | Select-Object -Last 1) | ConvertFrom-Json
        foreach ($name in 'Xdp', 'Tcx', 'TcClassic') {
            $case = $result.$name
            $case.Counted | Should -Be 3 -Because "$name counts the 3 datagrams sent while it is attached"
            $case.AfterRemoval | Should -Be 0 -Because "$name is detached by Remove-BpfLink"
            $case.Target | Should -BeLike "*$ServerInterface*"
        }
        $result.Xdp.Type | Should -Be 'Xdp'
        $result.Tcx.Type | Should -Be 'Tcx'
        $result.Xdp.Listed | Should -Be 1
    }

    It 'attaches nothing with -WhatIf' {
        New-BpfLink $c.Programs.sk_lookup_count -NetworkNamespace "/run/netns/$Server" -WhatIf | Should -BeNullOrEmpty
        $before = Get-Counter $c $Slot.SkLookup
        Send-Datagrams 2
        Get-Counter $c $Slot.SkLookup | Should -Be $before
    }
}
