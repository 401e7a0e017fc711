/** `agora verify status`: the quorum as this node sees it (docs/verification.md). */
import type { Command } from 'commander'
import { clientFor } from '../../client/index.ts'
import { globalOptions } from '../context.ts'
import { printRecord } from '../output.ts'

export function registerVerifyCommands (program: Command): void {
  const verify = program.command('verify').description('verification: the quorum, bootstrap mode, the decide backend')

  verify.command('status', { isDefault: true })
    .description('bootstrap mode or K, the active verifiers, the decide backend, what this node verifies')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const s = await clientFor(opts.dataDir).verifyStatus()
      printRecord(s, opts, undefined, {
        mode: s.mode === 'bootstrap' ? `bootstrap (K = 1, decisions provisional${s.stableSince === null ? '' : `; ${s.active} verifiers since ${s.stableSince}`})` : 'quorum',
        k: s.k,
        'active verifiers': s.active,
        backend: s.backend,
        verifies: s.verifies.length === 0 ? '(nothing)' : s.verifies.join(', '),
        'threads decided': s.threads
      })
    })
}
