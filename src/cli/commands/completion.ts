/**
 * `agora completion bash|zsh|fish|powershell` prints a thin script; the
 * script asks the hidden `agora __complete -- <words…>` for candidates, which
 * walks the command tree itself (every level, flags, choices) and asks the
 * running node for live ids. `__complete` never fails and never prints to
 * stderr: a broken completion must not get in the way of typing.
 */
import { resolve } from 'node:path'
import { Argument, type Command } from 'commander'
import type { Candidate } from '../completion/walk.ts'
import { SHELLS } from '../completion/shells.ts'
import { defaultDataDir } from '../context.ts'

export function registerCompletionCommand (program: Command): void {
  program.command('completion')
    .description('print a shell completion script (bash, zsh, fish, powershell); see `agora completion --help` for how to install it')
    .addArgument(new Argument('<shell>', SHELLS.join(', ')).choices(SHELLS))
    .action(async (shell: string) => {
      // the completion machinery loads when a completion command runs, not with every command
      const { completionScript } = await import('../completion/scripts.ts')
      process.stdout.write(completionScript(shell))
    })

  program.command('__complete', { hidden: true })
    .description('candidates for the last of the words typed after `agora` (used by the completion scripts)')
    .argument('[words...]', 'the words typed after `agora`, the last being completed')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (words: string[]) => {
      process.stdout.write(await completionLines(program, words.length === 0 ? [''] : words))
    })
}

/** What `__complete` prints: `value<TAB>description` lines, then `:files` or `:none`. */
export async function completionLines (program: Command, words: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  let candidates: Candidate[] = []
  let files = false
  try {
    const { complete } = await import('../completion/walk.ts')
    const found = complete(program, words)
    files = found.files
    candidates = found.candidates
    if (found.live !== undefined) {
      const dataDir = found.globals.dataDir !== undefined ? resolve(found.globals.dataDir) : defaultDataDir(env)
      const { liveIds } = await import('../completion/live-ids.ts')
      candidates = await liveIds(found.live, dataDir, words.at(-1) ?? '')
    }
  } catch {
    // nothing to offer rather than an error in the middle of a command line
  }
  const lines = candidates.map(c => `${c.value}\t${oneLine(c.description)}`)
  return [...lines, files ? ':files' : ':none'].join('\n') + '\n'
}

/** Descriptions are shown beside candidates: one short line. */
function oneLine (text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 80 ? flat.slice(0, 79) + '…' : flat
}
