/**
 * The completion scripts, kept thin: each hands the words typed so far to
 * `agora __complete -- <words…>` and shows what it prints — one candidate a
 * line (`value<TAB>description`), then a last line `:files` (complete file
 * names instead) or `:none`. Every decision lives in walk.ts, so the four
 * shells cannot disagree.
 */
import { AgoraError } from '../../errors.ts'

import { SHELLS, type Shell } from './shells.ts'

export { SHELLS, type Shell }

const BASH = `# agora bash completion: candidates come from \`agora __complete\`
_agora() {
  local line=\${COMP_LINE:0:COMP_POINT} cur prefix='' c
  local -a words out
  read -ra words <<< "$line"
  [[ -z $line || $line == *[[:space:]] ]] && words+=('')
  cur=\${words[\${#words[@]}-1]}
  mapfile -t out < <("\${words[0]}" __complete -- "\${words[@]:1}" 2>/dev/null)
  COMPREPLY=()
  (( \${#out[@]} > 0 )) || return 0
  if [[ \${out[\${#out[@]}-1]} == :files ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return 0
  fi
  # bash splits words at ':' (COMP_WORDBREAKS): offer only what follows the last one
  [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]] && prefix=\${cur%"\${cur##*:}"}
  for c in "\${out[@]:0:\${#out[@]}-1}"; do COMPREPLY+=("\${c%%$'\\t'*}"); COMPREPLY[-1]=\${COMPREPLY[-1]#"$prefix"}; done
}
complete -F _agora agora
`

const ZSH = `#compdef agora
# agora zsh completion: candidates come from \`agora __complete\`
_agora() {
  local -a out cands
  local line
  out=("\${(@f)$(\${words[1]} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  (( \${#out} > 0 )) || return 1
  if [[ \${out[-1]} == :files ]]; then _files; return; fi
  for line in "\${(@)out[1,-2]}"; do
    [[ -n $line ]] || continue
    if [[ $line == *$'\\t'* ]]; then cands+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}"); else cands+=("\${line//:/\\\\:}"); fi
  done
  (( \${#cands} > 0 )) && _describe -t agora 'agora' cands
}
# autoloaded from $fpath, this file is the body of _agora; sourced, it registers _agora
if [[ \${zsh_eval_context[-1]} == loadautofunc ]]; then _agora "$@"; else compdef _agora agora; fi
`

const FISH = `# agora fish completion: candidates come from \`agora __complete\`
function __agora_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out ($words[1] __complete -- $words[2..-1] 2>/dev/null)
    test (count $out) -gt 0; or return
    if test "$out[-1]" = ':files'
        __fish_complete_path (commandline -ct)
    else if test (count $out) -gt 1
        printf '%s\\n' $out[1..-2]
    end
end
complete -c agora -f -a '(__agora_complete)'
`

// PowerShell 7.3 or newer: older versions drop the empty word that asks for "anything next"
const POWERSHELL = `# agora PowerShell completion: candidates come from \`agora __complete\` (PowerShell 7.3 or newer)
Register-ArgumentCompleter -Native -CommandName agora -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Where-Object { $_.Extent.StartOffset -lt $cursorPosition } | ForEach-Object { $_.Extent.Text })
    if ($wordToComplete -eq '') { $words += '' }
    $out = @(& $words[0] __complete -- @($words | Select-Object -Skip 1) 2>$null)
    if ($out.Count -eq 0 -or $out[-1] -eq ':files') { return }
    $out | Select-Object -SkipLast 1 | ForEach-Object {
        $value, $help = $_ -split "\`t", 2
        if (-not $help) { $help = $value }
        [System.Management.Automation.CompletionResult]::new($value, $value, 'ParameterValue', $help)
    }
}
`

const SCRIPTS: Record<Shell, string> = { bash: BASH, zsh: ZSH, fish: FISH, powershell: POWERSHELL }

export function completionScript (shell: string): string {
  if (!(SHELLS as readonly string[]).includes(shell)) {
    throw new AgoraError('E1320', `no completion script for shell '${shell}'`, { hint: `use one of ${SHELLS.join(', ')}` })
  }
  return SCRIPTS[shell as Shell]
}
