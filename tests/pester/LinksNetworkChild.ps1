# Run by LinksNetwork.Tests.ps1 in a pwsh started inside the server's network namespace (nsenter --net), so that
# New-BpfLink resolves the veth by name there, as an operator's shell in that namespace would. For XDP, tcx and classic
# tc in turn: attach by interface name, send datagrams from the client namespace, detach, send more; prints one JSON
# object with what each program counted while attached and after its removal.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Object,
    [Parameter(Mandatory)] [string] $Interface,
    [Parameter(Mandatory)] [string] $ClientNamespace
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$c = Import-BpfCollection -Path $Object
function Get-Counter([int] $Index) { [uint64](Get-BpfMapEntry $c.Maps['counters'] -Key $Index).Value }
function Send-Datagrams([int] $Count) {
    bash -c "exec nsenter --net=/run/netns/$ClientNamespace bash -c 'for i in `$(seq $Count); do echo x > /dev/udp/10.199.0.1/47001; done'"
    if ($LASTEXITCODE -ne 0) { throw "sending failed ($LASTEXITCODE)" }
}
# Counter slots of links_net.c: SLOT_XDP_A 0, SLOT_TC_A 2, SLOT_TC_B 3.
$cases = @(
    @{ Name = 'Xdp'; Slot = 0; Attach = { New-BpfLink $c.Programs.xdp_count_a -Interface $Interface -XdpMode Generic } }
    @{ Name = 'Tcx'; Slot = 2; Attach = { New-BpfLink $c.Programs.tc_count_a -Interface $Interface -Tcx Ingress } }
    @{ Name = 'TcClassic'; Slot = 3; Attach = { New-BpfLink $c.Programs.tc_count_b -Interface $Interface -TcClassic Ingress } }
)
$result = [ordered]@{}
try {
    foreach ($case in $cases) {
        $before = Get-Counter $case.Slot
        $link = & $case.Attach
        try {
            Send-Datagrams 3
            $during = Get-Counter $case.Slot
            $listed = @(Get-BpfLink -Collection $c).Count
            $shown = [ordered]@{ Type = "$($link.Type)"; Target = "$($link.Target)"; Listed = $listed }
        }
        finally {
            $link | Remove-BpfLink -Confirm:$false
        }
        Send-Datagrams 2
        $shown.Counted = $during - $before
        $shown.AfterRemoval = (Get-Counter $case.Slot) - $during
        $result[$case.Name] = $shown
    }
}
finally {
    Remove-BpfCollection $c
}
$result | ConvertTo-Json -Compress
