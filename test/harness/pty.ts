/**
 * A command on a pseudo-terminal, driven by keystrokes: util-linux `script`
 * gives the command a pty and copies our writes to it, so an interactive
 * prompt sees a real terminal. Output is read with escape codes stripped;
 * `expect` waits (bounded) for text after the last thing it found.
 *
 *   const term = startOnPty([process.execPath, CLI, 'setup'], { env })
 *   await term.expect('Identity'); term.press(KEYS.enter)
 */
import { spawn } from 'node:child_process'
import { stripVTControlCharacters } from 'node:util'
import { waitFor } from './wait.ts'

export const KEYS = { enter: '\r', up: '\x1b[A', down: '\x1b[B', space: ' ', ctrlC: '\x03' } as const

export interface PtySession {
  /** Waits until `text` shows after the previous match; returns the screen text up to it. */
  expect(text: string | RegExp, timeoutMs?: number): Promise<string>
  /** Types keys (text or KEYS). */
  press(...keys: string[]): void
  /** Everything printed so far, escape codes stripped. */
  output(): string
  /** Exit code, once the command ends (bounded wait). */
  exited(timeoutMs?: number): Promise<number>
  kill(): void
}

const quote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`

export function startOnPty (argv: string[], init: { env?: NodeJS.ProcessEnv, cwd?: string } = {}): PtySession {
  // -q no banner, -f flush at once, -e the command's exit code, -c the command; the typescript goes nowhere
  const child = spawn('script', ['-qfec', argv.map(quote).join(' '), '/dev/null'], { env: { ...process.env, ...init.env }, cwd: init.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
  let raw = ''
  let cursor = 0
  let code: number | undefined
  child.stdout.on('data', (chunk: Buffer) => { raw += chunk.toString('utf8') })
  child.stderr.on('data', (chunk: Buffer) => { raw += chunk.toString('utf8') })
  child.on('exit', c => { code = c ?? 1 })
  const output = (): string => stripVTControlCharacters(raw).replace(/\r/g, '')
  return {
    output,
    async expect (text, timeoutMs = 15_000) {
      let found = -1
      let end = 0
      await waitFor(`"${String(text)}" on the terminal`, () => {
        const screen = output()
        const rest = screen.slice(cursor)
        if (typeof text === 'string') {
          found = rest.indexOf(text)
          end = found + text.length
        } else {
          const m = text.exec(rest)
          found = m?.index ?? -1
          end = found + (m?.[0].length ?? 0)
        }
        return found >= 0 || code !== undefined
      }, { timeoutMs }).catch((err: Error) => { throw new Error(`${err.message}; last output:\n${output().slice(-1500)}`) })
      if (found < 0) throw new Error(`the command exited (${String(code)}) before "${String(text)}" showed; output:\n${output().slice(-1500)}`)
      const seen = output().slice(0, cursor + end)
      cursor += end
      return seen
    },
    press (...keys) {
      for (const key of keys) child.stdin.write(key)
    },
    async exited (timeoutMs = 15_000) {
      await waitFor('the command to exit', () => code !== undefined, { timeoutMs }).catch((err: Error) => { throw new Error(`${err.message}; last output:\n${output().slice(-1500)}`) })
      return code as number
    },
    kill () {
      if (code === undefined) child.kill('SIGKILL')
    }
  }
}
