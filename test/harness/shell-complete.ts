/**
 * Ask a real shell what it would offer on TAB, with an `agora` completion
 * script loaded: bash through its completion variables (COMP_LINE, …) and
 * the script's function, zsh through a pseudo-terminal (zpty) and its real
 * completion system, fish through `complete -C`. `agora` on the shell's PATH
 * is a wrapper that runs this checkout's CLI with this Node.
 */
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CLI, ROOT } from './cli.ts'
import { tempDir } from './temp.ts'

/** Drives an interactive zsh through a pseudo-terminal (zpty) and records what completion offers. */
const ZSH_DRIVER = join(ROOT, 'test', 'fixtures', 'zsh-complete.zsh')

export type TestShell = 'bash' | 'zsh' | 'fish'

/** Whether `shell` is on the PATH (.ci/run installs zsh and fish). */
export function hasShell (shell: TestShell): boolean {
  return spawnSync(shell, ['-c', 'exit 0'], { stdio: 'ignore' }).status === 0
}

export interface ShellBench {
  /** A folder holding the `agora` wrapper (put first on the PATH) and the scripts. */
  dir: string
  env: NodeJS.ProcessEnv
  cleanup: () => void
}

/** A folder with an `agora` wrapper for this checkout; `env` is added to the shells' environment. */
export function shellBench (env: NodeJS.ProcessEnv = {}): ShellBench {
  const dir = tempDir('agora-completion-')
  const wrapper = join(dir, 'agora')
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`)
  chmodSync(wrapper, 0o755)
  return {
    dir,
    env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}`, NO_COLOR: '1', ...env },
    cleanup: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}

/** The words `shell` offers for `line` (the cursor at its end), with `script` loaded. */
export async function shellComplete (shell: TestShell, script: string, line: string, bench: ShellBench): Promise<string[]> {
  const env = { ...bench.env, AGORA_TEST_SCRIPT: script, AGORA_TEST_LINE: line }
  switch (shell) {
    case 'bash': {
      // what bash sets before calling a completion function (COMP_WORDS is unused by the script)
      const run = 'source "$AGORA_TEST_SCRIPT"; COMP_LINE=$AGORA_TEST_LINE; COMP_POINT=${#COMP_LINE}; COMP_WORDS=($COMP_LINE); COMP_CWORD=${#COMP_WORDS[@]}; _agora; printf "%s\\n" "${COMPREPLY[@]}"'
      return lines(await run1('bash', ['--norc', '--noprofile', '-c', run], env))
    }
    case 'fish': {
      const out = await run1('fish', ['--no-config', '-c', 'source $AGORA_TEST_SCRIPT; complete -C "$AGORA_TEST_LINE"'], env)
      return lines(out).map(l => l.split('\t')[0] as string)
    }
    case 'zsh': {
      const hits = join(bench.dir, `zsh-hits-${Date.now()}-${Math.random().toString(36).slice(2)}`)
      writeFileSync(hits, '')
      await run1('zsh', ['-f', ZSH_DRIVER, script, line, hits], env)
      try {
        return lines(readFileSync(hits, 'utf8'))
      } finally {
        rmSync(hits, { force: true })
      }
    }
  }
}

function lines (text: string): string[] {
  return text.split('\n').filter(l => l !== '')
}

/** Run a shell to its end (killed after 30 s); resolves to stdout, rejects with stderr on failure. */
async function run1 (cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>(resolve => child.on('close', c => { resolve(c) }))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${cmd} exited ${code}: ${stderr}`)
  if (stderr !== '') throw new Error(`${cmd} wrote to stderr while completing: ${stderr}`)
  return stdout
}
