BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    $arch = (& uname -m).Trim()
}

Describe 'Export-BtfHeader' {
    It 'writes a vmlinux.h that clang-14 compiles for -target bpf' {
        Skip-Unless $HasKernelBtf $NeedsKernelBtf
        Skip-Unless $Clang $NeedsClang
        $header = Join-Path $TestDrive 'vmlinux.h'
        Export-BtfHeader -Path $header
        $header | Should -Exist
        $header | Should -FileContentMatch 'struct task_struct \{'
        $source = Join-Path $TestDrive 'prog.c'
        Set-Content $source @'
#include "vmlinux.h"
int read_pid(struct task_struct *task) { return task->pid; }
int read_len(struct sk_buff *skb) { return skb->len; }
'@
        & $Clang -target bpf -O2 -c $source -o (Join-Path $TestDrive 'prog.o') 2>&1 | Out-String | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be 0
    }

    It 'writes the types of an object, which then compile' {
        Skip-Unless $Clang $NeedsClang
        $header = Join-Path $TestDrive 'counter.h'
        $file = Export-BtfHeader -Path $header -SourcePath $ExampleObject -PassThru
        $file | Should -BeOfType [System.IO.FileInfo]
        $file.FullName | Should -Be $header
        $header | Should -FileContentMatch 'struct xdp_md \{'
        $source = Join-Path $TestDrive 'use.c'
        Set-Content $source "#include `"counter.h`"`nunsigned int first(struct xdp_md *ctx) { return ctx->data; }"
        & $Clang -target bpf -O2 -c $source -o (Join-Path $TestDrive 'use.o') 2>&1 | Out-String | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be 0
    }

    It 'resolves a PowerShell drive path for the output' {
        Export-BtfHeader -Path TestDrive:/drive.h -SourcePath $ExampleObject
        Join-Path $TestDrive 'drive.h' | Should -Exist
    }

    It 'writes nothing with -WhatIf' {
        Export-BtfHeader -Path TestDrive:/whatif.h -SourcePath $ExampleObject -WhatIf
        Join-Path $TestDrive 'whatif.h' | Should -Not -Exist
    }

    It 'keeps an existing file with -NoClobber and says so' {
        $path = Join-Path $TestDrive 'keep.h'
        Set-Content $path 'original'
        Export-BtfHeader -Path $path -SourcePath $ExampleObject -NoClobber -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        Get-Content $path | Should -Be 'original'
    }

    It 'reports a missing source as ObjectNotFound and writes nothing' {
        Export-BtfHeader -Path TestDrive:/none.h -SourcePath TestDrive:/missing.o -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        Join-Path $TestDrive 'none.h' | Should -Not -Exist
    }
}
