# Turns cmdlet help written as markdown (platyPS's layout) into the MAML file Get-Help reads, without platyPS.
#
# Layout of one docs/cmdlets/<Cmdlet>.md:
#   # <Cmdlet>
#   ## SYNOPSIS | ## SYNTAX (### <Set> [(Default)] + a code block per set) | ## DESCRIPTION
#   ## EXAMPLES (### Example N: title, a code block, remarks) | ## PARAMETERS (### -Name, text, a yaml block)
#   ## INPUTS / ## OUTPUTS (### <type name>, text) | ## NOTES | ## RELATED LINKS ([text](uri) lines)
# The syntax code block decides which parameters a set has and whether each is required there; the yaml block gives the
# rest (type, aliases, position, default, pipeline input, wildcards).

Set-StrictMode -Version Latest

$MamlNamespace = 'http://schemas.microsoft.com/maml/2004/10'
$CommandNamespace = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$DevNamespace = 'http://schemas.microsoft.com/maml/dev/2004/10'

# Splits a markdown file into ## sections, each a list of ### subsections, each a list of blocks (paragraphs and code).
function Read-MarkdownSections([string] $Path) {
    $lines = [IO.File]::ReadAllLines($Path)
    $i = 0
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        # platyPS front matter: skip it.
        $i = 1
        while ($i -lt $lines.Count -and $lines[$i] -ne '---') { $i++ }
        $i++
    }

    $doc = [ordered]@{ Title = $null; Sections = [ordered]@{} }
    $sub = $null
    $paragraph = [Collections.Generic.List[string]]::new()
    $code = $null
    $codeLanguage = ''

    $flush = {
        if ($paragraph.Count -gt 0 -and $null -ne $sub) {
            $sub.Blocks.Add([pscustomobject]@{ Kind = 'Text'; Language = ''; Text = ($paragraph -join ' ') })
        }
        $paragraph.Clear()
    }

    for (; $i -lt $lines.Count; $i++) {
        $line = $lines[$i]
        if ($null -ne $code) {
            if ($line -match '^```\s*$') {
                if ($null -ne $sub) { $sub.Blocks.Add([pscustomobject]@{ Kind = 'Code'; Language = $codeLanguage; Text = ($code -join "`n") }) }
                $code = $null
            }
            else { $code.Add($line) }
            continue
        }
        if ($line -match '^```(\S*)') {
            & $flush
            $code = [Collections.Generic.List[string]]::new()
            $codeLanguage = $Matches[1]
            continue
        }
        if ($line -match '^# (.+)$' -and $null -eq $doc.Title) { $doc.Title = $Matches[1].Trim(); continue }
        if ($line -match '^## (.+)$') {
            & $flush
            $blocks = [Collections.Generic.List[object]]::new()
            $sub = [pscustomobject]@{ Title = $null; Blocks = $blocks }
            $subs = [Collections.Generic.List[object]]::new()
            $subs.Add($sub)
            $doc.Sections[$Matches[1].Trim().ToUpperInvariant()] = $subs
            continue
        }
        if ($line -match '^### (.+)$' -and $doc.Sections.Count -gt 0) {
            & $flush
            $sub = [pscustomobject]@{ Title = $Matches[1].Trim(); Blocks = [Collections.Generic.List[object]]::new() }
            $doc.Sections[$doc.Sections.Count - 1].Add($sub)
            continue
        }
        if ($line.Trim().Length -eq 0) { & $flush; continue }
        # A list item starts its own paragraph so lists survive as separate lines.
        if ($line -match '^\s*([-*]|\d+\.)\s') { & $flush }
        $paragraph.Add($line.Trim())
    }
    & $flush
    if ($null -ne $code) { throw "${Path}: unterminated code block." }
    [pscustomobject]$doc
}

function Get-Texts($Subsection) { @($Subsection.Blocks | Where-Object Kind -EQ 'Text' | ForEach-Object Text) }

function Get-Subsections($Doc, [string] $Name, [switch] $Required, [string] $Path) {
    if (-not $Doc.Sections.Contains($Name)) {
        if ($Required) { throw "${Path}: missing '## $Name' section." }
        return @()
    }
    @($Doc.Sections[$Name])
}

# platyPS's yaml block under a parameter: "Key: Value" lines.
function Read-ParameterYaml([string] $Text) {
    $map = @{}
    foreach ($line in $Text -split "`n") {
        if ($line -match '^([^:]+):\s*(.*)$') { $map[$Matches[1].Trim()] = $Matches[2].Trim() }
    }
    $map
}

# Which parameters a syntax line names, in order, and whether each is required there:
#   -Path <String>        required             [-Kind <BtfKind>]      optional
#   [-Name] <String>      required, positional [[-Name] <String>]     optional, positional
function Read-SyntaxLine([string] $Text) {
    $result = [Collections.Generic.List[object]]::new()
    $depth = 0
    for ($i = 0; $i -lt $Text.Length; $i++) {
        $c = $Text[$i]
        if ($c -eq '<') { $end = $Text.IndexOf('>', $i); if ($end -lt 0) { break }; $i = $end; continue }
        if ($c -eq '[') { $depth++; continue }
        if ($c -eq ']') { $depth--; continue }
        if ($c -eq '-' -and ($i -eq 0 -or $Text[$i - 1] -in ' ', '[') -and $i + 1 -lt $Text.Length -and [char]::IsLetter($Text[$i + 1])) {
            $j = $i + 1
            while ($j -lt $Text.Length -and [char]::IsLetterOrDigit($Text[$j])) { $j++ }
            $name = $Text.Substring($i + 1, $j - $i - 1)
            # "[-Name] <Type>" is a positional name; "[-Switch]" is just an optional switch.
            $wrapped = $j -lt $Text.Length -and $Text[$j] -eq ']' -and $Text.Substring($j + 1).TrimStart().StartsWith('<')
            $result.Add([pscustomobject]@{ Name = $name; Required = ($depth - [int]$wrapped) -eq 0 })
            $i = $j - 1
        }
    }
    $result
}

function Read-CommandHelp([string] $Path) {
    $doc = Read-MarkdownSections $Path
    if (-not $doc.Title) { throw "${Path}: missing '# <Cmdlet>' title." }
    $name = $doc.Title
    $synopsis = @(Get-Subsections $doc 'SYNOPSIS' -Required -Path $Path | ForEach-Object { Get-Texts $_ })
    $description = @(Get-Subsections $doc 'DESCRIPTION' -Required -Path $Path | ForEach-Object { Get-Texts $_ })
    if ($synopsis.Count -eq 0) { throw "${Path}: empty SYNOPSIS." }
    if ($description.Count -eq 0) { throw "${Path}: empty DESCRIPTION." }

    $syntax = foreach ($sub in Get-Subsections $doc 'SYNTAX' -Required -Path $Path) {
        $block = $sub.Blocks | Where-Object Kind -EQ 'Code' | Select-Object -First 1
        if ($null -eq $block) { continue }
        [pscustomobject]@{
            SetName    = if ($sub.Title) { $sub.Title -replace '\s*\(Default\)\s*$', '' } else { '__AllParameterSets' }
            Parameters = Read-SyntaxLine ($block.Text -replace '\s+', ' ')
        }
    }
    if (@($syntax).Count -eq 0) { throw "${Path}: SYNTAX has no code block." }

    $examples = foreach ($sub in Get-Subsections $doc 'EXAMPLES' -Required -Path $Path) {
        if (-not $sub.Title) { continue }
        $codeBlocks = @($sub.Blocks | Where-Object Kind -EQ 'Code')
        if ($codeBlocks.Count -eq 0) { throw "${Path}: example '$($sub.Title)' has no code block." }
        [pscustomobject]@{ Title = $sub.Title; Code = ($codeBlocks.Text -join "`n`n"); Remarks = @(Get-Texts $sub) }
    }
    if (@($examples).Count -eq 0) { throw "${Path}: no examples." }

    $parameters = [ordered]@{}
    foreach ($sub in Get-Subsections $doc 'PARAMETERS' -Path $Path) {
        if (-not $sub.Title -or $sub.Title -notmatch '^-(\w+)$') { continue }
        $parameterName = $Matches[1]
        $yamlBlock = $sub.Blocks | Where-Object { $_.Kind -eq 'Code' -and $_.Language -eq 'yaml' } | Select-Object -First 1
        if ($null -eq $yamlBlock) { throw "${Path}: parameter $($sub.Title) has no yaml block." }
        $yaml = Read-ParameterYaml $yamlBlock.Text
        $texts = @(Get-Texts $sub)
        if ($texts.Count -eq 0) { throw "${Path}: parameter $($sub.Title) has no description." }
        $parameters[$parameterName] = [pscustomobject]@{
            Name          = $parameterName
            Description   = $texts
            Type          = if ($yaml['Type']) { $yaml['Type'] } else { 'Object' }
            Aliases       = if ($yaml['Aliases']) { $yaml['Aliases'] } else { 'none' }
            Required      = $yaml['Required'] -eq 'True'
            Position      = if ($yaml['Position'] -and $yaml['Position'] -ne 'Named') { $yaml['Position'] } else { 'named' }
            DefaultValue  = if ($yaml['Default value']) { $yaml['Default value'] } else { 'None' }
            PipelineInput = if ($yaml['Accept pipeline input']) { $yaml['Accept pipeline input'] } else { 'False' }
            Globbing      = $yaml['Accept wildcard characters'] -eq 'True'
        }
    }
    foreach ($set in $syntax) {
        foreach ($p in $set.Parameters) {
            if (-not $parameters.Contains($p.Name)) { throw "${Path}: syntax names -$($p.Name) but PARAMETERS does not document it." }
        }
    }

    $typed = {
        param($sectionName)
        foreach ($sub in Get-Subsections $doc $sectionName -Path $Path) {
            if ($sub.Title) { [pscustomobject]@{ Type = $sub.Title; Description = @(Get-Texts $sub) } }
        }
    }

    $links = foreach ($sub in Get-Subsections $doc 'RELATED LINKS' -Path $Path) {
        foreach ($text in Get-Texts $sub) {
            foreach ($m in [regex]::Matches($text, '\[([^\]]+)\]\(([^)]*)\)')) {
                $uri = $m.Groups[2].Value
                # Links to sibling .md files name another cmdlet: Get-Help shows them by name.
                [pscustomobject]@{ Text = $m.Groups[1].Value; Uri = if ($uri -match '\.md$') { '' } else { $uri } }
            }
        }
    }

    [pscustomobject]@{
        Name        = $name
        Synopsis    = $synopsis -join ' '
        Description = $description
        Syntax      = @($syntax)
        Examples    = @($examples)
        Parameters  = $parameters
        Inputs      = @(& $typed 'INPUTS')
        Outputs     = @(& $typed 'OUTPUTS')
        Notes       = @(Get-Subsections $doc 'NOTES' -Path $Path | ForEach-Object { Get-Texts $_ })
        Links       = @($links)
        Path        = $Path
    }
}

function Write-Paragraphs([Xml.XmlWriter] $Writer, [string[]] $Texts) {
    $Writer.WriteStartElement('maml', 'description', $MamlNamespace)
    foreach ($text in $Texts) { $Writer.WriteElementString('maml', 'para', $MamlNamespace, $text) }
    $Writer.WriteEndElement()
}

function Write-Parameter([Xml.XmlWriter] $Writer, $Parameter, [bool] $Required, [switch] $InSyntax) {
    $isSwitch = $Parameter.Type -eq 'SwitchParameter'
    $Writer.WriteStartElement('command', 'parameter', $CommandNamespace)
    $Writer.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', $Parameter.Type.EndsWith('[]').ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('globbing', $Parameter.Globbing.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $Parameter.PipelineInput)
    $Writer.WriteAttributeString('position', $Parameter.Position)
    $Writer.WriteAttributeString('aliases', $Parameter.Aliases)
    $Writer.WriteElementString('maml', 'name', $MamlNamespace, $Parameter.Name)
    Write-Paragraphs $Writer $Parameter.Description
    if (-not ($isSwitch -and $InSyntax)) {
        $Writer.WriteStartElement('command', 'parameterValue', $CommandNamespace)
        $Writer.WriteAttributeString('required', (-not $isSwitch).ToString().ToLowerInvariant())
        $Writer.WriteAttributeString('variableLength', 'false')
        $Writer.WriteString($Parameter.Type)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $DevNamespace)
    $Writer.WriteElementString('maml', 'name', $MamlNamespace, $Parameter.Type)
    $Writer.WriteEndElement()
    $Writer.WriteElementString('dev', 'defaultValue', $DevNamespace, $Parameter.DefaultValue)
    $Writer.WriteEndElement()
}

function Write-TypedList([Xml.XmlWriter] $Writer, [string] $ListName, [string] $ItemName, $Items) {
    $Writer.WriteStartElement('command', $ListName, $CommandNamespace)
    foreach ($item in $Items) {
        $Writer.WriteStartElement('command', $ItemName, $CommandNamespace)
        $Writer.WriteStartElement('dev', 'type', $DevNamespace)
        $Writer.WriteElementString('maml', 'name', $MamlNamespace, $item.Type)
        $Writer.WriteEndElement()
        Write-Paragraphs $Writer $item.Description
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()
}

function Write-Command([Xml.XmlWriter] $Writer, $Help) {
    $verb, $noun = $Help.Name -split '-', 2
    $Writer.WriteStartElement('command', 'command', $CommandNamespace)
    $Writer.WriteAttributeString('xmlns', 'maml', $null, $MamlNamespace)
    $Writer.WriteAttributeString('xmlns', 'dev', $null, $DevNamespace)

    $Writer.WriteStartElement('command', 'details', $CommandNamespace)
    $Writer.WriteElementString('command', 'name', $CommandNamespace, $Help.Name)
    $Writer.WriteElementString('command', 'verb', $CommandNamespace, $verb)
    $Writer.WriteElementString('command', 'noun', $CommandNamespace, $noun)
    Write-Paragraphs $Writer @($Help.Synopsis)
    $Writer.WriteEndElement()

    Write-Paragraphs $Writer $Help.Description

    $Writer.WriteStartElement('command', 'syntax', $CommandNamespace)
    foreach ($set in $Help.Syntax) {
        $Writer.WriteStartElement('command', 'syntaxItem', $CommandNamespace)
        $Writer.WriteElementString('maml', 'name', $MamlNamespace, $Help.Name)
        foreach ($p in $set.Parameters) { Write-Parameter $Writer $Help.Parameters[$p.Name] $p.Required -InSyntax }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $CommandNamespace)
    foreach ($p in $Help.Parameters.Values) { Write-Parameter $Writer $p $p.Required }
    $Writer.WriteEndElement()

    Write-TypedList $Writer 'inputTypes' 'inputType' $Help.Inputs
    Write-TypedList $Writer 'returnValues' 'returnValue' $Help.Outputs

    $Writer.WriteStartElement('maml', 'alertSet', $MamlNamespace)
    $Writer.WriteStartElement('maml', 'alert', $MamlNamespace)
    foreach ($text in $Help.Notes) { $Writer.WriteElementString('maml', 'para', $MamlNamespace, $text) }
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $CommandNamespace)
    foreach ($example in $Help.Examples) {
        $Writer.WriteStartElement('command', 'example', $CommandNamespace)
        $Writer.WriteElementString('maml', 'title', $MamlNamespace, "-------------------------- $($example.Title) --------------------------")
        $Writer.WriteElementString('dev', 'code', $DevNamespace, $example.Code)
        $Writer.WriteStartElement('dev', 'remarks', $DevNamespace)
        foreach ($text in $example.Remarks) { $Writer.WriteElementString('maml', 'para', $MamlNamespace, $text) }
        $Writer.WriteEndElement()
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $CommandNamespace)
    foreach ($link in $Help.Links) {
        $Writer.WriteStartElement('maml', 'navigationLink', $MamlNamespace)
        $Writer.WriteElementString('maml', 'linkText', $MamlNamespace, $link.Text)
        $Writer.WriteElementString('maml', 'uri', $MamlNamespace, $link.Uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteEndElement()
}

<#
.SYNOPSIS
    Converts platyPS-style cmdlet markdown files into one MAML help file (e.g. en-US/BpfPS.dll-Help.xml).
#>
function ConvertTo-MamlHelp {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string[]] $MarkdownPath,
        [Parameter(Mandatory)] [string] $OutputPath
    )
    $helps = foreach ($path in $MarkdownPath | Sort-Object) { Read-CommandHelp $path }
    $settings = [Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [Text.UTF8Encoding]::new($false) }
    $writer = [Xml.XmlWriter]::Create($OutputPath, $settings)
    try {
        $writer.WriteStartDocument()
        $writer.WriteStartElement('helpItems', 'http://msh')
        $writer.WriteAttributeString('schema', 'maml')
        foreach ($help in $helps) { Write-Command $writer $help }
        $writer.WriteEndElement()
        $writer.WriteEndDocument()
    }
    finally {
        $writer.Dispose()
    }
    Write-Verbose "Wrote help for $(@($helps).Count) cmdlets to $OutputPath"
}

<#
.SYNOPSIS
    Converts an about_*.md topic into the plain-text about_*.help.txt that Get-Help reads.
#>
function ConvertTo-AboutHelp {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory)] [string] $MarkdownPath,
        [Parameter(Mandatory)] [string] $OutputPath
    )
    # Get-Help's layout: the topic name under TOPIC, section names in capitals, text indented.
    $text = foreach ($line in [IO.File]::ReadAllLines($MarkdownPath)) {
        if ($line -match '^```') { continue }
        if ($line -match '^# (.+)$') { 'TOPIC'; "    $($Matches[1])"; continue }
        if ($line -match '^#+\s+(.+)$') { $Matches[1].ToUpperInvariant(); continue }
        if ($line.Length -gt 0) { "    $line" } else { '' }
    }
    [IO.File]::WriteAllLines($OutputPath, [string[]]$text)
}

Export-ModuleMember -Function ConvertTo-MamlHelp, ConvertTo-AboutHelp
