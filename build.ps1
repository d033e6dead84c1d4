#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and packages BpfPS.

.DESCRIPTION
    Run with the pinned PowerShell from the repository root:

        dotnet tool restore
        dotnet pwsh ./build.ps1 <task> [<task> ...]

    Tasks:
      build          Compile (Release) and assemble the importable module at out/BpfPS.
      fixtures       Compile tests/fixtures/*.c into build/fixtures/*.o (and run tests/harness/build.sh if present).
      examples       Recompile examples/*.c into the committed examples/*.o.
      test           Prerequisites, build, fixtures, xunit and Pester; ends with "N passed, N failed, N skipped".
      demo           Loads examples/packet_counter.o with the built module and shows it working.
      bench          Runs the benchmarks under benchmarks/ (when there are any).
      package        Builds out/package/BpfPS.<version>.nupkg, installable with Install-PSResource from a folder repository.
      prerequisites  Installs (as root) or lists (otherwise) the system packages the tests need; mounts bpffs.
      clean          Removes out/, build/ and stray bin/obj folders.
      fuzz           Fuzzes the ELF, BTF, BTF.ext, object and CO-RE readers for -Minutes (default 10); see docs/reliability.md.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0, ValueFromRemainingArguments)]
    [ValidateSet('build', 'fixtures', 'examples', 'test', 'demo', 'bench', 'package', 'prerequisites', 'clean', 'fuzz')]
    [string[]] $Task = @('build'),

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # fuzz: how long to fuzz, in minutes, shared by the targets.
    [double] $Minutes = 10,

    # bench: also stream events through Receive-BpfEvent for this many seconds, sampling memory every 30 s (0: not run;
    # docs/performance.md's figure is a 600 s run). The events part alone: dotnet run --project
    # benchmarks/BpfPS.Benchmarks -c Release -- --events [--stream-seconds N] [--producers N] [--seconds N].
    [int] $EventStreamSeconds = 0,

    # build: the architecture the module is precompiled (ReadyToRun) for; default the build host's. A ReadyToRun image
    # of another architecture does not load at all, so out/BpfPS (and the package) holds one architecture's code.
    [ValidateSet('linux-x64', 'linux-arm64')]
    [string] $Runtime
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$Root = $PSScriptRoot
$BuildDir = Join-Path $Root 'build'
$ArtifactsDir = Join-Path $BuildDir 'artifacts'   # our own obj/bin, so builds never collide with an IDE's
$FixturesOut = Join-Path $BuildDir 'fixtures'
$ResultsDir = Join-Path $BuildDir 'test-results'
$ModuleOut = Join-Path $Root 'out/BpfPS'
$PackageOut = Join-Path $Root 'out/package'
$PesterVersion = '5.7.1'

# The one command line used for every BPF C source, the same as tests/BpfPS.Core.Tests/Fixtures.cs uses (plus -I<the
# source's folder>, added per file).
$Arch = (& uname -m).Trim()
$TargetArch = switch ($Arch) { 'x86_64' { 'x86' } 'aarch64' { 'arm64' } default { $Arch } }
$ClangArguments = @('-target', 'bpf', '-O2', '-g', "-D__TARGET_ARCH_$TargetArch", "-I/usr/include/$Arch-linux-gnu")

Import-Module (Join-Path $Root 'tools/MarkdownHelp.psm1') -Force

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

# Runs a native command and throws when it fails, so a broken step never goes unnoticed.
function Invoke-Native {
    param([Parameter(Mandatory)] [string] $FilePath, [string[]] $ArgumentList = @())
    Write-Verbose "$FilePath $($ArgumentList -join ' ')"
    & $FilePath @ArgumentList | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "'$FilePath $($ArgumentList -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

# A fresh PowerShell process of the same version as this one (the pinned dotnet tool runs as `dotnet pwsh.dll`).
function Invoke-FreshPwsh {
    param([Parameter(Mandatory)] [string[]] $ArgumentList, [switch] $AllowFailure)
    $host_ = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($host_) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    & $host_ @prefix -NoProfile -NonInteractive @ArgumentList | Out-Host
    $code = $LASTEXITCODE
    if ($code -ne 0 -and -not $AllowFailure) { throw "pwsh $($ArgumentList -join ' ') failed with exit code $code." }
    $code
}

function Test-IsRoot { [Environment]::IsPrivilegedProcess }

function Get-NuGetPackagesRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
}

function Get-ModuleVersion {
    (Import-PowerShellDataFile (Join-Path $Root 'module/BpfPS.psd1')).ModuleVersion
}

#region prerequisites

# What a fresh Debian 12 lacks, as apt package -> test that it is present. Without the first five nothing can be built
# (fixtures, the libbpf harness); without the others some tests skip.
$RequiredPackages = 'clang-14', 'libbpf-dev', 'linux-libc-dev', 'libelf-dev', 'gcc'
$SystemPackages = [ordered]@{
    'clang-14'       = { [bool](Get-Command clang-14 -ErrorAction Ignore) }
    'libbpf-dev'     = { Test-Path /usr/include/bpf/bpf_helpers.h }
    'linux-libc-dev' = { Test-Path /usr/include/linux/bpf.h }
    'bpftool'        = { [bool](Get-Command bpftool -ErrorAction Ignore) -or (Test-Path /usr/sbin/bpftool) }
    'libelf-dev'     = { Test-Path /usr/include/libelf.h }
    'gcc'            = { [bool](Get-Command gcc -ErrorAction Ignore) }
    'make'           = { [bool](Get-Command make -ErrorAction Ignore) }
    'pkg-config'     = { [bool](Get-Command pkg-config -ErrorAction Ignore) }
    # Only for bpf_core_type_matches(): clang-14 cannot emit that relocation, so its fixture is also built with clang-15.
    'clang-15'       = { [bool](Get-Command clang-15 -ErrorAction Ignore) }
    # Only for the remoting tests: each test host is an sshd in its own network namespace.
    'openssh-server' = { Test-Path /usr/sbin/sshd }
}

function Test-BpffsMounted {
    [bool](Get-Content /proc/mounts | Where-Object { ($_ -split ' ')[1] -eq '/sys/fs/bpf' -and ($_ -split ' ')[2] -eq 'bpf' })
}

function Invoke-Prerequisites {
    Write-Step 'Prerequisites'
    Install-SystemPackages
    Mount-Bpffs
    Write-Verbose 'Restoring Pester into the NuGet cache.'
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tools/restore.proj'), '--nologo', '-v', 'q')
}

# As root, apt-get installs what is missing; otherwise say exactly what is missing, and stop only when the build needs it.
function Install-SystemPackages {
    $missing = @($SystemPackages.Keys | Where-Object { -not (& $SystemPackages[$_]) })
    if ($missing.Count -eq 0) {
        Write-Host 'System packages: all present.'
        return
    }
    if (-not (Test-IsRoot)) {
        $install = "apt-get update && apt-get install -y $($missing -join ' ')"
        $blocking = @($missing | Where-Object { $_ -in $RequiredPackages })
        if ($blocking.Count -gt 0) {
            throw "Missing system packages: $($missing -join ', ') ($($blocking -join ', ') needed to build the fixtures). As root: $install"
        }
        Write-Warning "Missing system packages: $($missing -join ', ') (tests that need them will skip). As root: $install"
        return
    }
    Write-Host "Installing: $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-q')
    Invoke-Native apt-get (@('install', '-y', '-q', '--no-install-recommends') + $missing)
    $still = @($missing | Where-Object { -not (& $SystemPackages[$_]) })
    if ($still.Count -gt 0) { throw "apt-get ran but these are still missing: $($still -join ', ')" }
}

# Tests that pin maps need bpffs at /sys/fs/bpf.
function Mount-Bpffs {
    if (Test-BpffsMounted) { return }
    if (-not (Test-IsRoot)) {
        Write-Warning 'bpffs is not mounted at /sys/fs/bpf and this is not root: tests that pin will skip.'
        return
    }
    New-Item -ItemType Directory -Force /sys/fs/bpf | Out-Null
    & mount -t bpf bpf /sys/fs/bpf
    if ($LASTEXITCODE -eq 0) { Write-Host 'Mounted bpffs at /sys/fs/bpf.' }
    else { Write-Warning 'Could not mount bpffs at /sys/fs/bpf: tests that pin will skip.' }
}

#endregion

#region build

function Invoke-Build {
    Write-Step "Build ($Configuration)"
    $project = Join-Path $Root 'src/BpfPS/BpfPS.csproj'
    # publish (not build) so every runtime dependency of BpfPS.Core lands next to BpfPS.dll. Precompiled (ReadyToRun)
    # with the crossgen2 package from NuGet, pinned in src/BpfPS/BpfPS.csproj: in a fresh pwsh the JIT otherwise keeps
    # BpfPS's code at tier 0 for hundreds of calls. Without the package (offline, no feed) the module is plain IL.
    $rid = if ($Runtime) { $Runtime } else { "linux-$([Runtime.InteropServices.RuntimeInformation]::OSArchitecture.ToString().ToLowerInvariant())" }
    $publishDir = Join-Path $ArtifactsDir "publish/BpfPS/$($Configuration.ToLowerInvariant())_$rid"
    $common = @('publish', $project, '-c', $Configuration, '--artifacts-path', $ArtifactsDir, '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    & dotnet @common '-r' $rid '--self-contained' 'false' '-p:PublishReadyToRun=true' | Out-Host
    if ($LASTEXITCODE -ne 0) {
        Write-Warning "ReadyToRun publish for $rid failed (is the crossgen2 package reachable?): building plain IL instead; the first loads in each session will be slower."
        Invoke-Native dotnet $common
        $publishDir = Join-Path $ArtifactsDir "publish/BpfPS/$($Configuration.ToLowerInvariant())"
    }

    if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
    New-Item -ItemType Directory -Force $ModuleOut, (Join-Path $ModuleOut 'en-US') | Out-Null
    Get-ChildItem $publishDir -File | Where-Object Extension -In '.dll', '.pdb' | Copy-Item -Destination $ModuleOut
    Copy-Item (Join-Path $Root 'module/*') -Destination $ModuleOut -Recurse

    $helpPath = Join-Path $ModuleOut 'en-US/BpfPS.dll-Help.xml'
    ConvertTo-MamlHelp -MarkdownPath (Get-ChildItem (Join-Path $Root 'docs/cmdlets') -Filter *.md).FullName -OutputPath $helpPath
    $about = Join-Path $Root 'docs/about_BpfPS.md'
    if (Test-Path $about) {
        ConvertTo-AboutHelp -MarkdownPath $about -OutputPath (Join-Path $ModuleOut 'en-US/about_BpfPS.help.txt')
    }

    $manifest = Test-ModuleManifest (Join-Path $ModuleOut 'BpfPS.psd1')
    Write-Host "Module $($manifest.Name) $($manifest.Version) at $ModuleOut"
}

#endregion

#region fixtures and examples

function Invoke-Clang {
    param([Parameter(Mandatory)] [IO.FileInfo] $Source, [Parameter(Mandatory)] [string] $Output)
    if ((Test-Path $Output) -and (Get-Item $Output).LastWriteTimeUtc -ge $Source.LastWriteTimeUtc) { return }
    Write-Host "  clang-14 $($Source.Name) -> $Output"
    # Compile to a private name and rename, like Fixtures.cs, so a concurrent test run never reads half an object.
    $temporary = "$Output.$PID.tmp"
    Invoke-Native clang-14 ($ClangArguments + @("-I$($Source.DirectoryName)", '-c', $Source.FullName, '-o', $temporary))
    Move-Item $temporary $Output -Force
}

function Invoke-Fixtures {
    Write-Step 'Fixtures'
    if (-not (Get-Command clang-14 -ErrorAction Ignore)) { throw 'clang-14 is needed to build the fixtures (run the prerequisites task).' }
    New-Item -ItemType Directory -Force $FixturesOut | Out-Null
    foreach ($source in Get-ChildItem (Join-Path $Root 'tests/fixtures') -Filter *.c -ErrorAction Ignore) {
        Invoke-Clang -Source $source -Output (Join-Path $FixturesOut "$($source.BaseName).o")
    }
    $harness = Join-Path $Root 'tests/harness/build.sh'
    if (Test-Path $harness) {
        Write-Host '  tests/harness/build.sh'
        Invoke-Native bash @($harness)
    }
}

function Invoke-Examples {
    Write-Step 'Examples'
    foreach ($source in Get-ChildItem (Join-Path $Root 'examples') -Filter *.c) {
        Invoke-Clang -Source $source -Output (Join-Path $source.DirectoryName "$($source.BaseName).o")
    }
}

#endregion

#region test

# Counts from a Visual Studio test results (.trx) file.
function Get-TrxCounts([string] $Path) {
    [xml] $trx = Get-Content -Raw $Path
    $ns = @{ t = 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010' }
    $results = @(Select-Xml -Xml $trx -XPath '//t:UnitTestResult' -Namespace $ns | ForEach-Object Node)
    [pscustomobject]@{
        Passed  = @($results | Where-Object outcome -EQ 'Passed').Count
        Failed  = @($results | Where-Object outcome -In 'Failed', 'Error', 'Timeout', 'Aborted').Count
        Skipped = @($results | Where-Object outcome -In 'NotExecuted', 'Inconclusive', 'Skipped').Count
    }
}

function Invoke-XunitTests {
    Write-Step 'xunit'
    $total = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($project in Get-ChildItem (Join-Path $Root 'tests') -Filter *.Tests.csproj -Recurse) {
        $trxName = "$($project.BaseName).trx"
        $trxPath = Join-Path $ResultsDir $trxName
        Remove-Item $trxPath -ErrorAction Ignore
        & dotnet test $project.FullName -c $Configuration --artifacts-path $ArtifactsDir --nologo `
            --logger "trx;LogFileName=$trxName" --results-directory $ResultsDir | Out-Host
        $exit = $LASTEXITCODE
        if (Test-Path $trxPath) {
            $counts = Get-TrxCounts $trxPath
            $total.Passed += $counts.Passed; $total.Failed += $counts.Failed; $total.Skipped += $counts.Skipped
            # A run that failed without failing a test (build error, crashed host) must still count as a failure.
            if ($exit -ne 0 -and $counts.Failed -eq 0) { $total.Failed++ }
        }
        else {
            Write-Warning "$($project.Name): dotnet test produced no results (exit $exit)."
            $total.Failed++
        }
    }
    $total
}

function Invoke-PesterTests {
    Write-Step 'Pester'
    $pester = Join-Path (Get-NuGetPackagesRoot) "pester/$PesterVersion/tools/Pester.psd1"
    if (-not (Test-Path $pester)) {
        Invoke-Native dotnet @('restore', (Join-Path $Root 'tools/restore.proj'), '--nologo', '-v', 'q')
    }
    $summary = Join-Path $ResultsDir 'pester-summary.json'
    Remove-Item $summary -ErrorAction Ignore
    $exit = Invoke-FreshPwsh -AllowFailure -ArgumentList @(
        '-File', (Join-Path $Root 'tests/pester/run.ps1'),
        '-PesterPath', $pester,
        '-ModulePath', (Join-Path $ModuleOut 'BpfPS.psd1'),
        '-FixturesPath', $FixturesOut,
        '-ResultsPath', $ResultsDir)
    if (-not (Test-Path $summary)) {
        Write-Warning "Pester produced no summary (exit $exit)."
        return [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0 }
    }
    $counts = Get-Content -Raw $summary | ConvertFrom-Json
    if ($exit -ne 0 -and $counts.Failed -eq 0) { $counts.Failed = 1 }
    $counts
}

function Invoke-Test {
    Invoke-Prerequisites
    Invoke-Build
    Invoke-Fixtures
    New-Item -ItemType Directory -Force $ResultsDir | Out-Null
    $xunit = Invoke-XunitTests
    $pester = Invoke-PesterTests

    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed
    $skipped = $xunit.Skipped + $pester.Skipped
    Write-Host ''
    Write-Host "xunit:  $($xunit.Passed) passed, $($xunit.Failed) failed, $($xunit.Skipped) skipped"
    Write-Host "Pester: $($pester.Passed) passed, $($pester.Failed) failed, $($pester.Skipped) skipped"
    Write-Host "Results in $ResultsDir"
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0) { exit 1 }
}

#endregion

#region demo, bench, package, clean

function Invoke-Demo {
    Invoke-Build
    Write-Step 'Demo'
    Invoke-FreshPwsh -ArgumentList @('-File', (Join-Path $Root 'examples/Demo.ps1'), '-ModulePath', (Join-Path $ModuleOut 'BpfPS.psd1')) | Out-Null
}

function Invoke-Bench {
    Write-Step 'Benchmarks'
    $projects = @(Get-ChildItem (Join-Path $Root 'benchmarks') -Filter *.csproj -Recurse -ErrorAction Ignore | Where-Object Name -ne 'EmptyModule.csproj')
    if ($projects.Count -eq 0) {
        Write-Host 'No benchmarks yet (benchmarks/*.csproj).'
        return
    }
    foreach ($project in $projects) {
        Invoke-Native dotnet @('run', '-c', 'Release', '--artifacts-path', $ArtifactsDir, '--project', $project.FullName)
    }

    # What users run: fresh pwsh sessions with the built module, against libbpf (the console figures above are the floor).
    Invoke-Build
    Write-Step 'Benchmarks in pwsh sessions'
    $bench = Join-Path $BuildDir 'bench'
    $objects = @('manyprogs_100.o', 'manyprogs_500.o' | ForEach-Object { Join-Path $bench $_ } | Where-Object { Test-Path $_ })
    $cilium = Join-Path $Root '../shared/bench/cilium-manyprogs-el.elf'
    if (Test-Path $cilium) { $objects += (Resolve-Path $cilium).Path }
    # The floor under Import-Module: a binary module with one cmdlet and nothing else, imported in the same kind of session.
    $empty = Join-Path $bench 'EmptyModule'
    Invoke-Native dotnet @('build', (Join-Path $Root 'benchmarks/pwsh/EmptyModule/EmptyModule.csproj'), '-c', 'Release', '--artifacts-path', $ArtifactsDir, '-o', $empty, '--nologo', '-v', 'q')
    New-ModuleManifest -Path (Join-Path $empty 'EmptyModule.psd1') -RootModule 'EmptyModule.dll' -CmdletsToExport 'Get-EmptyModuleValue' `
        -FunctionsToExport @() -AliasesToExport @() -VariablesToExport @()
    & (Join-Path $Root 'benchmarks/pwsh/Invoke-SessionBench.ps1') -Root $Root -ModulePath (Join-Path $ModuleOut 'BpfPS.psd1') `
        -Libbpf (Join-Path $bench 'bench_libbpf') -Object $objects -EmptyModulePath (Join-Path $empty 'EmptyModule.psd1')

    # Where verifying on several threads starts to pay (the loader's default parallelism follows it).
    Invoke-Native dotnet @('run', '-c', 'Release', '--artifacts-path', $ArtifactsDir, '--project', (Join-Path $Root 'benchmarks/BpfPS.Benchmarks/BpfPS.Benchmarks.csproj'), '--', '--parallel-threshold')

    # Event readers against libbpf, and through Receive-BpfEvent (needs the built module): their own section of performance.md.
    $eventArgs = @('--events') + $(if ($EventStreamSeconds -gt 0) { @('--stream-seconds', "$EventStreamSeconds") } else { @() })
    Invoke-Native dotnet (@('run', '-c', 'Release', '--artifacts-path', $ArtifactsDir, '--project', (Join-Path $Root 'benchmarks/BpfPS.Benchmarks/BpfPS.Benchmarks.csproj'), '--') + $eventArgs)
}

function Invoke-Package {
    Invoke-Build
    Write-Step 'Package'
    if (Test-Path $PackageOut) { Remove-Item $PackageOut -Recurse -Force }
    New-Item -ItemType Directory -Force $PackageOut | Out-Null
    Import-Module Microsoft.PowerShell.PSResourceGet
    Compress-PSResource -Path $ModuleOut -DestinationPath $PackageOut
    $nupkg = Get-ChildItem $PackageOut -Filter *.nupkg | Select-Object -First 1
    if (-not $nupkg) { throw "Compress-PSResource made no .nupkg in $PackageOut." }

    # Prove it installs: a throw-away folder repository, then Save-PSResource (Install-PSResource into a scratch path).
    $repoName = "BpfPS-check-$PID"
    $scratch = Join-Path $BuildDir 'package-check'
    if (Test-Path $scratch) { Remove-Item $scratch -Recurse -Force }
    New-Item -ItemType Directory -Force $scratch | Out-Null
    Register-PSResourceRepository -Name $repoName -Uri $PackageOut -Trusted
    try {
        Save-PSResource -Name BpfPS -Repository $repoName -Path $scratch -TrustRepository -SkipDependencyCheck
        $saved = Get-ChildItem $scratch -Recurse -Filter BpfPS.psd1 | Select-Object -First 1
        if (-not $saved) { throw 'The package did not install a BpfPS.psd1.' }
        Test-ModuleManifest $saved.FullName | Out-Null
    }
    finally {
        Unregister-PSResourceRepository -Name $repoName
    }
    Write-Host "Package: $($nupkg.FullName)"
    Write-Host 'Install it with:'
    Write-Host "  Register-PSResourceRepository -Name BpfPSLocal -Uri '$PackageOut' -Trusted"
    Write-Host '  Install-PSResource -Name BpfPS -Repository BpfPSLocal'
}

function Invoke-Fuzz {
    # Coverage-guided with AFL++ and SharpFuzz where they can be had (apt's afl++, NuGet's SharpFuzz.CommandLine tool):
    # BpfPS.Core.dll is instrumented and afl-fuzz runs each target for its share of -Minutes, seeded with the fixtures.
    # Otherwise (or with BPFPS_FUZZ_ENGINE=inprocess) the structure-aware in-process fuzzer the suite runs for a minute.
    # Findings land in tests/BpfPS.Core.Tests/Hardening/regressions, which the suite replays from then on.
    Invoke-Fixtures
    Write-Step "Fuzz ($Minutes min)"
    $project = Join-Path $Root 'fuzz/BpfPS.Fuzz/BpfPS.Fuzz.csproj'
    $regressions = Join-Path $Root 'tests/BpfPS.Core.Tests/Hardening/regressions'
    $fuzzDir = Join-Path $BuildDir 'fuzz'
    Invoke-Native dotnet @('build', $project, '-c', 'Release', '--artifacts-path', $ArtifactsDir, '--nologo', '-v', 'q')
    $driver = Join-Path $ArtifactsDir 'bin/BpfPS.Fuzz/release/BpfPS.Fuzz.dll'

    if ($env:BPFPS_FUZZ_ENGINE -ne 'inprocess' -and -not (Get-Command afl-fuzz -ErrorAction Ignore) -and (Test-IsRoot)) {
        Invoke-Native apt-get @('install', '-y', '-q', 'afl++')
    }
    $sharpfuzz = Join-Path $fuzzDir 'tools/sharpfuzz'
    if ($env:BPFPS_FUZZ_ENGINE -ne 'inprocess' -and (Get-Command afl-fuzz -ErrorAction Ignore) -and -not (Test-Path $sharpfuzz)) {
        & dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path (Join-Path $fuzzDir 'tools') | Out-Host
    }
    if ($env:BPFPS_FUZZ_ENGINE -eq 'inprocess' -or -not (Get-Command afl-fuzz -ErrorAction Ignore) -or -not (Test-Path $sharpfuzz)) {
        Write-Host 'AFL++ or SharpFuzz unavailable: running the in-process fuzzer.'
        Invoke-Native dotnet @($driver, 'run', '--minutes', "$Minutes", '--seeds', $FixturesOut, '--findings', $regressions)
        return
    }

    # Instrument a private copy of the driver's output (instrumenting rewrites BpfPS.Core.dll in place).
    $aflArtifacts = Join-Path $fuzzDir 'afl-artifacts'
    Remove-Item $aflArtifacts -Recurse -Force -ErrorAction Ignore
    Invoke-Native dotnet @('build', $project, '-c', 'Release', '--artifacts-path', $aflArtifacts, '--nologo', '-v', 'q')
    $aflDriver = Join-Path $aflArtifacts 'bin/BpfPS.Fuzz/release/BpfPS.Fuzz.dll'
    Invoke-Native $sharpfuzz @((Join-Path $aflArtifacts 'bin/BpfPS.Fuzz/release/BpfPS.Core.dll'))
    $seeds = Join-Path $fuzzDir 'seeds'
    Remove-Item $seeds -Recurse -Force -ErrorAction Ignore
    Invoke-Native dotnet @($driver, 'seeds', '--out', $seeds, '--seeds', $FixturesOut)

    $targets = 'elf', 'btf', 'btfext', 'object', 'core'
    $seconds = [math]::Max(10, [int]($Minutes * 60 / $targets.Count))
    $env:AFL_SKIP_BIN_CHECK = '1'; $env:AFL_NO_UI = '1'; $env:AFL_SKIP_CPUFREQ = '1'; $env:AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES = '1'
    $summary = foreach ($target in $targets) {
        $out = Join-Path $fuzzDir "afl/$target"
        Remove-Item $out -Recurse -Force -ErrorAction Ignore
        New-Item -ItemType Directory -Force (Split-Path $out) | Out-Null
        & afl-fuzz -i (Join-Path $seeds $target) -o $out -t 10000 -m none -V $seconds -- dotnet $aflDriver afl --target $target |
            Out-File (Join-Path $fuzzDir "afl-$target.log")
        $stats = @{ run_time = 0; execs_done = 0; execs_per_sec = 0; corpus_count = 0; bitmap_cvg = ''; saved_crashes = 0; saved_hangs = 0 }
        Get-Content (Join-Path $out 'default/fuzzer_stats') -ErrorAction Ignore | ForEach-Object {
            $key, $value = $_ -split '\s*:\s*', 2; $stats[$key] = $value }
        foreach ($crash in Get-ChildItem (Join-Path $out 'default/crashes'), (Join-Path $out 'default/hangs') -File -Filter 'id*' -ErrorAction Ignore) {
            $hash = (Get-FileHash $crash.FullName -Algorithm SHA256).Hash.Substring(0, 12).ToLowerInvariant()
            $kind = if ($crash.Directory.Name -eq 'hangs') { 'afl-hang' } else { 'afl-crash' }
            Copy-Item $crash.FullName (Join-Path $regressions "$target-$kind-$hash.bin")
        }
        [pscustomobject]@{ Target = $target; Seconds = $stats.run_time; Execs = $stats.execs_done; PerSecond = $stats.execs_per_sec
            Corpus = $stats.corpus_count; Coverage = $stats.bitmap_cvg; Crashes = $stats.saved_crashes; Hangs = $stats.saved_hangs }
    }
    $summary | Format-Table -AutoSize | Out-Host
    $found = @(Get-ChildItem $regressions -Filter '*-afl-*.bin' -ErrorAction Ignore)
    if ($found) {
        Write-Host "AFL inputs saved under $regressions; replaying them without instrumentation:"
        & dotnet $driver replay @($found.FullName) | Out-Host
    }
}

function Invoke-Clean {
    Write-Step 'Clean'
    foreach ($path in @($BuildDir, (Join-Path $Root 'out'))) {
        if (Test-Path $path) { Remove-Item $path -Recurse -Force }
    }
    foreach ($folder in 'src', 'tests', 'tools', 'benchmarks') {
        Get-ChildItem (Join-Path $Root $folder) -Directory -Recurse -Include bin, obj -ErrorAction Ignore |
            Remove-Item -Recurse -Force -ErrorAction Ignore
    }
}

#endregion

Push-Location $Root
try {
    foreach ($name in $Task) {
        switch ($name) {
            'build' { Invoke-Build }
            'fixtures' { Invoke-Fixtures }
            'examples' { Invoke-Examples }
            'test' { Invoke-Test }
            'demo' { Invoke-Demo }
            'bench' { Invoke-Bench }
            'package' { Invoke-Package }
            'prerequisites' { Invoke-Prerequisites }
            'clean' { Invoke-Clean }
            'fuzz' { Invoke-Fuzz }
        }
    }
}
finally {
    Pop-Location
}
