BeforeDiscovery { . $PSScriptRoot/Common.ps1 }

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $module = Import-Module $ModulePath -Force -PassThru
    # The cmdlet classes compiled into BpfPS.dll: what the manifest must export, no more, no less.
    $cmdletTypes = $module.ImplementingAssembly.GetExportedTypes() |
        Where-Object { $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false) }
}

Describe 'The BpfPS module' {
    It 'has a valid manifest for PowerShell 7.6 Core' {
        $manifest = Test-ModuleManifest $ModulePath
        $manifest.PowerShellVersion | Should -Be ([version]'7.6')
        $manifest.CompatiblePSEditions | Should -Be @('Core')
        $manifest.RootModule | Should -Be 'BpfPS.dll'
        $manifest.PrivateData.PSData.Tags | Should -Contain 'eBPF'
        $manifest.PrivateData.PSData.LicenseUri | Should -Not -BeNullOrEmpty
    }

    It 'exports exactly the cmdlets its assembly defines' {
        $defined = $cmdletTypes | ForEach-Object {
            $attribute = $_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            "$($attribute.VerbName)-$($attribute.NounName)"
        }
        $module.ExportedCmdlets.Keys | Sort-Object | Should -Be ($defined | Sort-Object)
    }

    It 'uses approved verbs and the Bpf/Btf noun prefixes' {
        $approved = (Get-Verb).Verb
        foreach ($command in $module.ExportedCmdlets.Values) {
            $approved | Should -Contain $command.Verb -Because "$($command.Name) must use an approved verb"
            $command.Noun | Should -Match '^(Bpf|Btf)' -Because "$($command.Name) must use the module's noun prefix"
        }
    }

    It 'declares an output type on every cmdlet' {
        foreach ($type in $cmdletTypes) {
            $type.GetCustomAttributes([System.Management.Automation.OutputTypeAttribute], $false) |
                Should -Not -BeNullOrEmpty -Because "$($type.Name) must say what it returns"
        }
    }

    It 'names each cmdlet class after its cmdlet' {
        foreach ($type in $cmdletTypes) {
            $attribute = $type.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $type.Name | Should -Be "$($attribute.VerbName)$($attribute.NounName)Command"
        }
    }

    It 'loads the format views for its output types' {
        foreach ($typeName in 'BpfPS.BtfTypeInfo', 'BpfPS.BtfMemberInfo', 'BpfPS.BtfCacheInfo') {
            Get-FormatData -TypeName $typeName | Should -Not -BeNullOrEmpty -Because "$typeName needs a default view"
        }
    }
}
