BeforeDiscovery {
    . $PSScriptRoot/Common.ps1
    $commands = (Import-Module $ModulePath -Force -PassThru).ExportedCmdlets.Keys | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    Import-Module $ModulePath -Force
    # WhatIf and Confirm are "optional" common parameters: a cmdlet that has them must document them.
    $commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters
}

Describe 'Help for <Name>' -ForEach $commands {
    BeforeAll {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name
    }

    It 'comes from the built MAML file, with a synopsis' {
        # Without a help file Get-Help invents a synopsis that is just the syntax.
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$Name\s+\["
    }

    It 'has a description' {
        ($help.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
    }

    It 'has at least two examples with code' {
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($example in $help.Examples.Example) { $example.Code | Should -Not -BeNullOrEmpty }
    }

    It 'documents every parameter' {
        $expected = $command.Parameters.Keys | Where-Object { $_ -notin $commonParameters }
        $documented = @($help.Parameters.Parameter | ForEach-Object Name)
        foreach ($parameter in $expected) {
            $documented | Should -Contain $parameter -Because "-$parameter of $Name needs help"
            $entry = $help.Parameters.Parameter | Where-Object Name -EQ $parameter
            ($entry.Description.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty -Because "-$parameter of $Name needs a description"
        }
        foreach ($parameter in $documented) {
            $expected | Should -Contain $parameter -Because "the help documents -$parameter, which $Name does not have"
        }
    }

    It 'tells the truth about mandatory and pipeline parameters' {
        foreach ($entry in $help.Parameters.Parameter) {
            $metadata = $command.Parameters[$entry.Name]
            $attributes = @($metadata.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
            $mandatoryInAll = @($attributes | Where-Object Mandatory).Count -eq $attributes.Count
            ($entry.Required -eq 'true') | Should -Be $mandatoryInAll -Because "-$($entry.Name) of $Name"
            $byValue = [bool]($attributes | Where-Object ValueFromPipeline)
            $byName = [bool]($attributes | Where-Object ValueFromPipelineByPropertyName)
            $entry.PipelineInput -match 'ByValue' | Should -Be $byValue -Because "-$($entry.Name) of $Name pipeline input"
            $entry.PipelineInput -match 'ByPropertyName' | Should -Be $byName -Because "-$($entry.Name) of $Name pipeline input"
        }
    }
}

Describe 'The about_BpfPS topic' {
    It 'is found by Get-Help and says what the module is' {
        $text = Get-Help about_BpfPS | Out-String
        $text | Should -Match 'SHORT DESCRIPTION'
        $text | Should -Match 'Import-BpfCollection'
    }
}
