# Dot-sourced by Fleet.Tests.ps1: real SSH hosts for PowerShell remoting tests, each an sshd (Debian's openssh-server)
# in its own network namespace with its own hostname, config, host key and authorized_keys, and pwsh as its
# `powershell` subsystem. The client reaches each host over a veth pair whose addresses exist only on that pair.
# Everything is named with the test process's PID, started processes are stopped by their own PIDs, and
# Remove-FleetHosts removes namespaces, links and files even when a test failed half way.

$SshdPath = '/usr/sbin/sshd'
$SshKeygenPath = Get-Command ssh-keygen -ErrorAction Ignore | ForEach-Object Source
$SshClientPath = Get-Command ssh -ErrorAction Ignore | ForEach-Object Source

# The native launcher the PowerShell dotnet tool package ships next to pwsh.dll: sshd execs it as the subsystem
# (`dotnet pwsh` is a dotnet CLI command, not an executable sshd can run).
function Get-PwshLauncher {
    $version = $PSVersionTable.PSVersion.ToString()
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    $candidates = @(
        Join-Path $PSHOME 'pwsh'
        Join-Path $packages "powershell/$version/tools/net10.0/any/unix/pwsh"
    )
    $candidates | Where-Object { Test-Path $_ -PathType Leaf } | Select-Object -First 1
}

# Why this machine cannot run the fleet tests, or $null when it can.
function Get-FleetSkipReason {
    if (-not $IsLinux) { return 'remoting hosts are Linux network namespaces' }
    if (-not $IsRoot) { return 'needs root to create network namespaces and run sshd' }
    if (-not (Test-Path $SshdPath)) { return "sshd is not installed ($SshdPath missing; build.ps1 prerequisites installs openssh-server)" }
    if (-not $SshKeygenPath -or -not $SshClientPath) { return 'the OpenSSH client (ssh, ssh-keygen) is not installed' }
    if (-not (Get-Command ip -ErrorAction Ignore)) { return 'iproute2 (ip) is not installed' }
    if (-not (Get-Command nsenter -ErrorAction Ignore) -or -not (Get-Command unshare -ErrorAction Ignore)) { return 'util-linux nsenter/unshare are missing' }
    if (-not (Get-PwshLauncher)) { return 'no native pwsh launcher found to serve as the sshd powershell subsystem' }
    $null
}

function Invoke-FleetNative([string] $File, [string[]] $Arguments) {
    $output = & $File @Arguments 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed ($LASTEXITCODE): $($output -join ' ')" }
}

<#
    Starts -Count hosts. Each gets network namespace fleet<pid>h<n>, a veth pair (root side fl<pid>r<n>, 100.64.x.y/30
    with the host at .y+1), hostname fleet<pid>-<n>, and an sshd listening on its address, port 22. -Down names hosts
    that get everything except a running sshd (a host that is down). Returns the fleet: its hosts, the client's key
    file and the known_hosts file that pins every host key; pass it to Remove-FleetHosts when done.
#>
function New-FleetHosts {
    param(
        [Parameter(Mandatory)] [int] $Count,
        [int[]] $Down = @(),
        # Directory put on the remote pwsh's PSModulePath (the module is found there by name).
        [string] $ModuleDirectory
    )
    $id = $PID
    $root = Join-Path ([IO.Path]::GetTempPath()) "bpfps-fleet-$id-$([guid]::NewGuid().ToString('n').Substring(0, 6))"
    New-Item -ItemType Directory $root | Out-Null
    $fleet = [pscustomobject]@{
        Root       = $root
        KeyFile    = Join-Path $root 'client_ed25519'
        KnownHosts = Join-Path $root 'known_hosts'
        Hosts      = [Collections.Generic.List[object]]::new()
    }
    # A host that fails half way must not leak the ones before it: the caller gets no $fleet to clean up.
    try {
        $launcher = Get-PwshLauncher
        Invoke-FleetNative $SshKeygenPath @('-q', '-t', 'ed25519', '-N', '', '-C', "bpfps-fleet-$id", '-f', $fleet.KeyFile)
        # sshd's privilege separation directory (systemd's tmpfiles would create it at boot; there is none here).
        if (-not (Test-Path /run/sshd)) { New-Item -ItemType Directory /run/sshd | Out-Null }

        # 100.64.0.0/10 (shared address space) is routed nowhere here; the PID picks a /24, each host a /30 in it.
        $subnet = "100.$(64 + ($id -shr 8) % 64).$($id % 256)"
        for ($n = 1; $n -le $Count; $n++) {
            $h = [pscustomobject]@{
                Index     = $n
                Namespace = "fleet${id}h$n"
                RootLink  = "fl${id}r$n"
                HostLink  = "fl${id}h$n"
                RootIp    = "$subnet.$($n * 4 + 1)"
                Address   = "$subnet.$($n * 4 + 2)"
                HostName  = "fleet$id-$n"
                Directory = Join-Path $root "host$n"
                Modules   = $null
                Process   = $null
                Down      = $n -in $Down
            }
            $fleet.Hosts.Add($h)
            New-Item -ItemType Directory $h.Directory | Out-Null
            $h.Modules = Join-Path $h.Directory 'Modules'
            New-Item -ItemType Directory $h.Modules | Out-Null

            Invoke-FleetNative ip @('netns', 'add', $h.Namespace)
            Invoke-FleetNative ip @('link', 'add', $h.RootLink, 'type', 'veth', 'peer', 'name', $h.HostLink, 'netns', $h.Namespace)
            Invoke-FleetNative ip @('addr', 'add', "$($h.RootIp)/30", 'dev', $h.RootLink)
            Invoke-FleetNative ip @('link', 'set', $h.RootLink, 'up')
            Invoke-FleetNative ip @('-n', $h.Namespace, 'addr', 'add', "$($h.Address)/30", 'dev', $h.HostLink)
            Invoke-FleetNative ip @('-n', $h.Namespace, 'link', 'set', $h.HostLink, 'up')
            Invoke-FleetNative ip @('-n', $h.Namespace, 'link', 'set', 'lo', 'up')

            $hostKey = Join-Path $h.Directory 'ssh_host_ed25519_key'
            Invoke-FleetNative $SshKeygenPath @('-q', '-t', 'ed25519', '-N', '', '-C', $h.HostName, '-f', $hostKey)
            Copy-Item "$($fleet.KeyFile).pub" (Join-Path $h.Directory 'authorized_keys')
            Add-Content $fleet.KnownHosts "$($h.Address) $((Get-Content "$hostKey.pub" -Raw).Trim())"
            $modulePath = @($ModuleDirectory, $h.Modules | Where-Object { $_ }) -join ':'
            $config = Join-Path $h.Directory 'sshd_config'
            @(
                "ListenAddress $($h.Address):22"
                "HostKey $hostKey"
                "AuthorizedKeysFile $(Join-Path $h.Directory 'authorized_keys')"
                'PidFile none'
                'StrictModes no'
                'UsePAM no'
                'PermitRootLogin prohibit-password'
                'PasswordAuthentication no'
                'KbdInteractiveAuthentication no'
                'AllowTcpForwarding no'
                'X11Forwarding no'
                'PrintMotd no'
                'LogLevel VERBOSE'
                "SetEnv PSModulePath=$modulePath"
                "Subsystem powershell $launcher -sshs -NoLogo -NoProfile"
            ) | Set-Content $config
            if ($h.Down) { continue }
            Start-FleetHost $h
        }
    }
    catch {
        Remove-FleetHosts $fleet
        throw
    }
    $fleet
}

# Starts (or restarts) a host's sshd in its namespace with its own UTS namespace and hostname. nsenter enters only
# the network namespace (ip netns exec would also remount /sys and hide bpffs), unshare and exec keep one PID: the
# PID recorded is sshd's own (-D: it does not daemonize).
function Start-FleetHost($h) {
    $config = Join-Path $h.Directory 'sshd_config'
    Invoke-FleetNative $SshdPath @('-t', '-f', $config)
    $log = Join-Path $h.Directory 'sshd.log'
    $start = [Diagnostics.ProcessStartInfo]::new('nsenter')
    foreach ($argument in @("--net=/run/netns/$($h.Namespace)", 'unshare', '--uts', 'sh', '-c',
            "hostname $($h.HostName) && exec $SshdPath -D -E $log -f $config")) { $start.ArgumentList.Add($argument) }
    $start.UseShellExecute = $false
    # sshd logs to its file (-E); its standard streams are pipes of this process, not whatever this process inherited
    # (a test runner's output pipe would otherwise stay open as long as sshd runs).
    $start.RedirectStandardInput = $true
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $h.Process = [Diagnostics.Process]::Start($start)
    $h.Down = $false
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ([DateTime]::UtcNow -lt $deadline) {
        if ($h.Process.HasExited) { throw "sshd for $($h.HostName) exited: $(Get-Content $log -Raw)" }
        if ((Get-Content $log -Raw -ErrorAction Ignore) -match 'Server listening') { return }
        Start-Sleep -Milliseconds 50
    }
    throw "sshd for $($h.HostName) did not start listening within 10 s"
}

# Stops a host's sshd by its PID, and the sessions it forked (the processes left in the host's own namespace).
function Stop-FleetHost($h) {
    if ($h.Process -and -not $h.Process.HasExited) {
        Stop-Process -Id $h.Process.Id -Force -ErrorAction Ignore
        $h.Process.WaitForExit(5000) | Out-Null
    }
    foreach ($left in @(& ip netns pids $h.Namespace 2>$null)) {
        if ($left -match '^\d+$') { Stop-Process -Id ([int]$left) -Force -ErrorAction Ignore }
    }
    $h.Down = $true
}

function Remove-FleetHosts($Fleet) {
    if (-not $Fleet) { return }
    foreach ($h in $Fleet.Hosts) {
        try { Stop-FleetHost $h } catch { Write-Warning "stopping $($h.HostName): $_" }
        # Deleting the namespace deletes the veth end in it, and with it the pair.
        & ip netns del $h.Namespace 2>$null
        & ip link del $h.RootLink 2>$null
    }
    Remove-Item -Recurse -Force $Fleet.Root -ErrorAction Ignore
}

# The -Options every client connection uses: the host key must be the pinned one, no prompts.
function Get-FleetSshOptions($Fleet) {
    @{ StrictHostKeyChecking = 'yes'; UserKnownHostsFile = $Fleet.KnownHosts; BatchMode = 'yes'; ConnectTimeout = '5' }
}

# One session per live host (or the given hosts), root over key auth with the host keys pinned; in the order of the
# hosts (New-PSSession opens them in parallel and returns them as they connect).
function New-FleetSession($Fleet, [object[]] $Hosts = @($Fleet.Hosts | Where-Object { -not $_.Down })) {
    $opened = New-PSSession -HostName ($Hosts | ForEach-Object Address) -UserName root -KeyFilePath $Fleet.KeyFile `
        -Options (Get-FleetSshOptions $Fleet) -ConnectingTimeout 30000 -ErrorAction Stop
    foreach ($h in $Hosts) { $opened | Where-Object ComputerName -EQ $h.Address }
}

# PIDs of the ssh clients this process started to a host (PowerShell runs one per session): a test ends a session's
# connection by killing its client, as a network failure would.
function Get-FleetSshClient([string] $Address) {
    foreach ($entry in Get-ChildItem /proc -Directory | Where-Object Name -Match '^\d+$') {
        $commandLine = Get-Content "/proc/$($entry.Name)/cmdline" -Raw -ErrorAction Ignore
        if (-not $commandLine) { continue }
        $arguments = $commandLine.TrimEnd([char]0) -split [char]0
        $parent = ((Get-Content "/proc/$($entry.Name)/stat" -Raw -ErrorAction Ignore) -replace '^.*\) ' -split ' ')[1]
        if ((Split-Path -Leaf $arguments[0]) -eq 'ssh' -and $Address -in $arguments -and $parent -eq "$PID") { [int]$entry.Name }
    }
}
