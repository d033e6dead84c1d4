<#
.SYNOPSIS
    Runs the Pester tests against a built module; build.ps1 test calls it in a fresh pwsh process.
.DESCRIPTION
    Writes NUnit XML (pester.xml) and a one-line JSON summary (pester-summary.json: Passed, Failed, Skipped) to
    -ResultsPath. Exits 1 when anything failed (a test, a block or a whole file).
#>
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $FixturesPath,
    [Parameter(Mandatory)] [string] $ResultsPath
)
$ErrorActionPreference = 'Stop'

# The test files read these to find what they test; standalone runs fall back to the repository's defaults.
$env:BPFPS_MODULE_PATH = $ModulePath
$env:BPFPS_FIXTURES_PATH = $FixturesPath

Import-Module $PesterPath -Force
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'NUnitXml'
$configuration.TestResult.OutputPath = Join-Path $ResultsPath 'pester.xml'
$result = Invoke-Pester -Configuration $configuration

# Failures outside an It (a BeforeAll, a file that does not parse) fail the run as one failure each.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
[pscustomobject]@{ Passed = $result.PassedCount; Failed = $failed; Skipped = $result.SkippedCount + $result.NotRunCount } |
    ConvertTo-Json -Compress | Set-Content (Join-Path $ResultsPath 'pester-summary.json')
exit ([int]($failed -gt 0))
