<#
.SYNOPSIS
    Installs a built BpfPS module on remote hosts through their PowerShell remoting sessions.
.DESCRIPTION
    For each session: copies the module folder (out/BpfPS, as build.ps1 builds it) through the session itself
    (Copy-Item -ToSession: no scp and no shared file system needed) to <Destination>/BpfPS/<version> on the host,
    replacing an earlier copy of the same version, then imports it there by name to prove the host finds and loads it.
    Copy-Item -ToSession takes one session at a time; this takes many.

    Returns one object per host: PSComputerName, Version and Path (where the host loaded the module from).
.PARAMETER Session
    Sessions to the hosts (New-PSSession -HostName ...). The user must be able to write to -Destination there.
.PARAMETER Path
    The built module folder, holding BpfPS.psd1. Default: out/BpfPS next to this script's folder.
.PARAMETER Destination
    A module directory on the hosts, one on their PSModulePath. Default: the first entry of each host's
    $env:PSModulePath (for root, ~/.local/share/powershell/Modules).
.EXAMPLE
    $s = New-PSSession -HostName root@web1, root@web2 -KeyFilePath ~/.ssh/id_ed25519
    ./tools/Install-BpfPSRemote.ps1 -Session $s
.EXAMPLE
    ./tools/Install-BpfPSRemote.ps1 -Session $s -Destination /usr/local/share/powershell/Modules
    Installs for every user of the hosts (needs root there).
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory, ValueFromPipeline)]
    [System.Management.Automation.Runspaces.PSSession[]] $Session,
    [string] $Path = (Join-Path $PSScriptRoot '../out/BpfPS'),
    [string] $Destination
)
begin {
    $ErrorActionPreference = 'Stop'
    $manifestPath = Join-Path $Path 'BpfPS.psd1'
    if (-not (Test-Path $manifestPath)) { throw "No built module at $Path (BpfPS.psd1 missing): run ./build.ps1 build first." }
    $version = (Import-PowerShellDataFile $manifestPath).ModuleVersion
}
process {
    foreach ($s in $Session) {
        $target = Invoke-Command -Session $s -ArgumentList $Destination, $version {
            param($directory, $version)
            if (-not $directory) { $directory = ($env:PSModulePath -split [IO.Path]::PathSeparator)[0] }
            Join-Path $directory "BpfPS/$version"
        }
        if (-not $PSCmdlet.ShouldProcess("$($s.ComputerName): $target", "Install BpfPS $version")) { continue }
        Invoke-Command -Session $s -ArgumentList $target {
            param($target)
            if (Test-Path $target) { Remove-Item $target -Recurse -Force }
            New-Item -ItemType Directory -Force $target | Out-Null
        }
        Copy-Item -Path (Join-Path $Path '*') -Destination $target -ToSession $s -Recurse -Force
        Invoke-Command -Session $s -ArgumentList $version {
            param($version)
            $module = Import-Module BpfPS -RequiredVersion $version -PassThru -Force
            [pscustomobject]@{ Version = $module.Version; Path = $module.ModuleBase }
        } | Select-Object PSComputerName, Version, Path
    }
}
