/** `agora keys create|list|revoke`: API keys for the OpenAI-compatible API (/v1). */
import { confirm, withYes } from '../confirm.ts'
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor, type ApiKeyEntry } from '../../client/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, red } from '../output.ts'

export function registerKeysCommands (program: Command): void {
  const keys = program.command('keys').description('API keys for the OpenAI-compatible API at /v1')

  keys.command('create <name>')
    .description('make a key; it is printed once (with --quiet, only the key is printed)')
    .action(async (name: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const [{ checkFlags }, { createKeyBody }] = await Promise.all([import('../check-flags.ts'), import('../../client/schemas.ts')])
      checkFlags(createKeyBody, { name }, { name: '<name>' }, 'keys create')
      const created = await clientFor(opts.dataDir).createKey(name)
      if (opts.quiet) {
        // the only copy: print it even when quiet, so `KEY=$(agora keys create ci -q)` works
        process.stdout.write(created.key + '\n')
        return
      }
      printRecord(created, opts)
      if (opts.format === 'table') {
        process.stderr.write(red('Copy the key now: it is shown only this once (the node keeps only its hash).', opts) + '\n' +
          'Use it as `Authorization: Bearer <key>`, e.g. new OpenAI({ baseURL: \'<api url>/v1\', apiKey: \'<key>\' }).\n')
      }
    })

  keys.command('list').alias('ls')
    .description('keys with their prefix and last use (never the secrets)')
    .option('--all', 'also revoked keys')
    .action(async (flags: { all?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const rows = (await clientFor(opts.dataDir).keys()).filter(k => flags.all === true || k.revokedAt === null)
      printList(rows, [
        { header: 'id', value: k => k.id },
        { header: 'name', value: k => k.name },
        { header: 'key', value: k => `${k.prefix}…` },
        { header: 'created', value: k => new Date(k.createdAt).toISOString() },
        { header: 'last used', value: k => k.lastUsedAt === null ? 'never' : new Date(k.lastUsedAt).toISOString() },
        { header: 'revoked', value: k => k.revokedAt === null ? '' : new Date(k.revokedAt).toISOString() }
      ], opts)
    })

  withYes(keys.command('revoke <idOrName>')
    .description('revoke a key by id or name; clients using it are refused at once'))
    .action(async (idOrName: string, flags: { yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (idOrName.trim() === '') throw new AgoraError('E600', 'revoke which key? give its id or name', { hint: '`agora keys list` shows them' })
      await confirm(`revoke API key ${idOrName} (clients using it are refused at once)`, flags)
      printKey(await clientFor(opts.dataDir).revokeKey(idOrName), opts)
    })
}

function printKey (key: ApiKeyEntry, opts: GlobalOptions): void {
  printRecord(key, opts, undefined, {
    id: key.id,
    name: key.name,
    key: `${key.prefix}…`,
    revoked: key.revokedAt === null ? 'no' : new Date(key.revokedAt).toISOString()
  })
}
