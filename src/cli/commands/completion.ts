/**
 * `agora completion bash|zsh|fish`: a shell completion script made from the
 * command tree itself, so it never lists a command that does not exist.
 */
import { Argument, type Command } from 'commander'
import { AgoraError } from '../../errors.ts'

export function registerCompletionCommand (program: Command): void {
  program.command('completion')
    .description('print a shell completion script, e.g. `agora completion bash >> ~/.bashrc`')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .action((shell: string) => {
      process.stdout.write(completionScript(program, shell))
    })
}

interface Node { name: string, subcommands: string[], options: string[] }

function describeTree (program: Command): Node[] {
  const globalOptions = program.options.map(o => o.long).filter((o): o is string => o !== undefined)
  const nodes: Node[] = [{ name: '', subcommands: program.commands.map(c => c.name()), options: globalOptions }]
  for (const cmd of program.commands) {
    nodes.push({ name: cmd.name(), subcommands: cmd.commands.map(c => c.name()), options: cmd.options.map(o => o.long).filter((o): o is string => o !== undefined) })
  }
  return nodes
}

export function completionScript (program: Command, shell: string): string {
  const nodes = describeTree(program)
  const words = (node: Node): string => [...node.subcommands, ...node.options].join(' ')
  switch (shell) {
    case 'bash': {
      const cases = nodes.filter(n => n.name !== '').map(n => `    ${n.name}) words="${words(n)}" ;;`).join('\n')
      return `# agora bash completion
_agora() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" noun="" words
  local i; for ((i = 1; i < COMP_CWORD; i++)); do case "\${COMP_WORDS[i]}" in -*) ;; *) noun="\${COMP_WORDS[i]}"; break ;; esac; done
  case "$noun" in
${cases}
    *) words="${words(nodes[0] as Node)}" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _agora agora
`
    }
    case 'zsh':
      return `#compdef agora
# agora zsh completion (uses bash completion emulation)
autoload -U +X bashcompinit && bashcompinit
${completionScript(program, 'bash')}`
    case 'fish': {
      const top = nodes[0] as Node
      const lines = [`# agora fish completion`, `complete -c agora -f`]
      for (const sub of top.subcommands) lines.push(`complete -c agora -n '__fish_use_subcommand' -a ${sub}`)
      for (const node of nodes.slice(1)) {
        for (const sub of node.subcommands) lines.push(`complete -c agora -n '__fish_seen_subcommand_from ${node.name}' -a ${sub}`)
        for (const option of node.options) lines.push(`complete -c agora -n '__fish_seen_subcommand_from ${node.name}' -l ${option.replace(/^--/, '')}`)
      }
      for (const option of top.options) lines.push(`complete -c agora -l ${option.replace(/^--/, '')}`)
      return lines.join('\n') + '\n'
    }
    default:
      throw new AgoraError('E600', `no completion for shell '${shell}'`, { hint: 'use bash, zsh or fish' })
  }
}
