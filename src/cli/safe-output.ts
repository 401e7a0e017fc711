/**
 * `--debug-safe` on the command line: whatever the CLI prints (results,
 * errors, stack traces) passes through the secret redactor first, the data
 * dir's API token included (it has no shape to be found by).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { secretRedactor, type Redactor } from '../observability/redact.ts'
import { defaultDataDir } from './context.ts'
import { API_TOKEN_FILE } from '../client/client.ts'

export function redactOutput (argv: string[], streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): Redactor {
  const redact = secretRedactor([tokenOf(dataDirOf(argv))])
  for (const stream of streams) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? redact(chunk) : chunk instanceof Uint8Array ? redact(Buffer.from(chunk).toString('utf8')) : chunk, ...rest)) as typeof stream.write
  }
  return redact
}

/** The data dir as the command will resolve it: -d/--data-dir, else AGORA_DATA_DIR, else the default. */
function dataDirOf (argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '-d' || arg === '--data-dir') return argv[i + 1] ?? defaultDataDir()
    if (arg.startsWith('--data-dir=')) return arg.slice('--data-dir='.length)
  }
  return defaultDataDir()
}

function tokenOf (dataDir: string): string | undefined {
  try {
    return readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim()
  } catch {
    return undefined
  }
}
