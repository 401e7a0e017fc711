/** Run the CLI in this process (no child: fast), capturing what it writes and its exit code. */
import { runCli } from '../../src/cli/program.ts'

export interface InProcessRun { code: number, stdout: string, stderr: string }

export async function cliInProcess (...argv: string[]): Promise<InProcessRun> {
  const out: string[] = []
  const err: string[] = []
  const write = { out: process.stdout.write, err: process.stderr.write }
  process.stdout.write = ((chunk: string | Uint8Array) => { out.push(String(chunk)); return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => { err.push(String(chunk)); return true }) as typeof process.stderr.write
  const exitCode = process.exitCode
  try {
    const code = await runCli(argv)
    return { code, stdout: out.join(''), stderr: err.join('') }
  } finally {
    process.stdout.write = write.out
    process.stderr.write = write.err
    process.exitCode = exitCode
  }
}
