/** `agora changelog`: what changed for people who run Agora (CHANGELOG.md). */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { AgoraError, messageOf } from '../../errors.ts'
import { globalOptions } from '../context.ts'
import { printRecord } from '../output.ts'

const CHANGELOG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'CHANGELOG.md')

export function registerChangelogCommand (program: Command): void {
  program.command('changelog')
    .description('what changed in each version, newest first')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      let text: string
      try {
        text = readFileSync(CHANGELOG, 'utf8')
      } catch (err) {
        throw new AgoraError('E603', 'cannot read the changelog', { why: messageOf(err) })
      }
      if (opts.format !== 'table') printRecord({ changelog: text }, opts)
      else process.stdout.write(text)
    })
}
