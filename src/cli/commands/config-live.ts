/**
 * The config verbs that go past the file: `agora config migrate` (the file
 * brought to the current format version) and `--live` on `get` / `set`
 * (the running node's config, GET and PATCH /api/v1/config).
 */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor } from '../../client/index.ts'
import { globalOptions } from '../context.ts'
import type { GlobalOptions } from '../context.ts'
import { printRecord, say } from '../output.ts'

export function registerConfigMigrate (config: Command): void {
  config.command('migrate')
    .description('bring the config file in use to the current format version (the old file kept as <file>.bak-<time>)')
    .option('--dry-run', 'only say what would change')
    .action(async (flags: { dryRun?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await import('../../config/index.ts')
      const file = opts.config !== undefined ? resolve(opts.config) : c.findConfigFile()
      if (file === undefined) throw new AgoraError('E303', 'no config file to migrate', { why: `searched ${c.configSearchPaths().join(', ')}` })
      const result = c.migrateConfigFile(file, { dryRun: flags.dryRun === true })
      if (opts.format !== 'table') {
        printRecord(result, opts)
        return
      }
      if (result.changes.length === 0) {
        say(`${file} is at version ${result.to} already: nothing to do`, opts)
        return
      }
      for (const line of result.changes) say(`  ${line}`, opts)
      say(result.dryRun
        ? `${file} would go from version ${result.from} to ${result.to} (dry run: nothing written)`
        : `${file} is now at version ${result.to}; the old file is ${result.backup ?? ''}`, opts)
    })
}

/** `config get KEY --live`: the value the running node uses. */
export async function liveGet (key: string, opts: GlobalOptions): Promise<unknown> {
  const c = await import('../../config/index.ts')
  const view = await clientFor(opts.dataDir).config()
  // unknown keys fail here as they do for the file (E301 with a suggestion)
  return c.getConfigValue(view.config as unknown as Parameters<typeof c.getConfigValue>[0], key)
}

/** `config set KEY VALUE --live`: the running node validates, writes its own config file and applies the key now or at its next start. */
export async function liveSet (key: string, raw: string, opts: GlobalOptions): Promise<void> {
  const c = await import('../../config/index.ts')
  const leaf = c.leafSpec(key)
  if (leaf === undefined) {
    // the same E301 (with a suggestion) as for the file
    c.getConfigValue(c.defaultConfig(), key)
    throw new AgoraError('E301', `'${key}' is a section, not a key`, { hint: 'set one key at a time, e.g. `agora config set log.level debug --live`' })
  }
  const patch: Record<string, unknown> = {}
  let node = patch
  for (const segment of leaf.path.slice(0, -1)) {
    const next: Record<string, unknown> = {}
    node[segment] = next
    node = next
  }
  const value = c.coerceRaw(leaf, raw)
  node[leaf.path.at(-1) ?? key] = value
  const answer = await clientFor(opts.dataDir).patchConfig(patch)
  if (opts.format !== 'table') {
    printRecord(answer, opts)
    return
  }
  const shown = JSON.stringify(value)
  const where = answer.file === null ? 'not written: the node runs without a config file' : `written to ${answer.file}`
  if (answer.changes.length === 0) say(`${leaf.key} = ${shown} already; nothing changed`, opts)
  else if (answer.applied.includes(leaf.key)) say(`${leaf.key} = ${shown}: applied now, ${where}`, opts)
  else say(`${leaf.key} = ${shown}: applied when the node next starts (it reads ${answer.file ?? 'no file'}), ${where}`, opts)
  for (const o of answer.overridden) {
    if (!opts.quiet) process.stderr.write(`note: ${o.origin ?? o.source} overrides ${o.key} when the node starts\n`)
  }
}
