@{
    RootModule           = 'BpfPS.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '405166a1-cf9f-405b-a4c7-5a671b545265'
    Author               = 'BpfPS contributors'
    CompanyName          = 'BpfPS'
    Copyright            = '(c) BpfPS contributors. MIT License.'
    Description          = 'Loads eBPF ELF objects into the Linux kernel (maps, programs, CO-RE relocation against kernel BTF) and browses BTF type information, from PowerShell. A managed loader in the spirit of libbpf and cilium/ebpf: no native library needed.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    TypesToProcess       = @('BpfPS.types.ps1xml')
    FormatsToProcess     = @('BpfPS.format.ps1xml', 'BpfPS.Maps.format.ps1xml', 'BpfPS.Features.format.ps1xml', 'BpfPS.Events.format.ps1xml', 'BpfPS.StructOps.format.ps1xml', 'BpfPS.Links.format.ps1xml')
    CmdletsToExport      = @(
        'Get-BtfType'
        'Export-BtfHeader'
        'Get-BtfCache'
        'Clear-BtfCache'
        'Import-BpfCollection'
        'Get-BpfCollection'
        'Remove-BpfCollection'
        'Get-BpfCollectionSpec'
        'Invoke-BpfProgram'
        'Get-BpfMapEntry'
        'Set-BpfMapEntry'
        'Remove-BpfMapEntry'
        'Clear-BpfMap'
        'Get-BpfProgram'
        'Get-BpfMap'
        'Add-BpfPin'
        'Remove-BpfPin'
        'Get-BpfPin'
        'Get-BpfFeature'
        'Receive-BpfEvent'
        'Send-BpfEvent'
        'Receive-BpfTraceLog'
        'New-BpfLink'
        'Get-BpfLink'
        'Remove-BpfLink'
        'Update-BpfLink'
        'Invoke-BpfIterator'
        'Receive-BpfEvent'
        'Send-BpfEvent'
        'Receive-BpfTraceLog'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('eBPF', 'BPF', 'BTF', 'Linux', 'Kernel', 'CO-RE', 'libbpf', 'XDP', 'PSEdition_Core')
            LicenseUri   = 'https://opensource.org/license/mit'
            ReleaseNotes = 'First release: BTF browsing, loading eBPF objects with CO-RE (all or nothing), map entries decoded by BTF, program/map inventory, test runs and pins.'
        }
    }
}
