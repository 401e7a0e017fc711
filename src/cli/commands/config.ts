/** `agora config init|show|get|set|validate|path`: work on the config file; no node needed. */
import { confirm, withYes } from '../confirm.ts'
import { copyFileSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { globalOptions } from '../context.ts'
import type * as ConfigRoomModule from '../../config/index.ts'
import type { GlobalOptions } from '../context.ts'
import { printList, printRecord, say, toYaml } from '../output.ts'
import { liveGet, liveSet, registerConfigMigrate } from './config-live.ts'

/** The config room, loaded when a config verb runs (it pulls in zod and yaml). */
type ConfigRoom = typeof ConfigRoomModule
const configRoom = async (): Promise<ConfigRoom> => await import('../../config/index.ts')

export function registerConfigCommands (program: Command): void {
  const config = program.command('config').description('the configuration file: create, show, get, set, validate')

  withYes(config.command('init')
    .description('write a commented config file with every key at its default (default $XDG_CONFIG_HOME/agora/agora.yaml)')
    .option('--force', 'overwrite an existing file')
    .option('--path <file>', 'where to write it (default: --config, else the per-user file)')
    .option('-i, --interactive', 'ask step by step on a terminal, as `agora setup` does'))
    .action(async (flags: { force?: boolean, path?: string, yes?: boolean, interactive?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await configRoom()
      const target = resolve(flags.path ?? opts.config ?? c.defaultConfigPath())
      if (existsSync(target) && flags.force !== true) throw new AgoraError('E304', `config file already exists: ${target}`)
      if (flags.interactive === true) {
        const { runSetup } = await import('../setup/wizard.ts')
        await runSetup(opts, { configFile: target, fresh: true, named: flags.path !== undefined || opts.config !== undefined })
        return
      }
      if (flags.force === true && existsSync(target)) await confirm(`overwrite ${target} with the defaults`, flags)
      const file = c.initConfigFile(target, { force: flags.force === true })
      report(file, { path: file }, opts)
    })

  withYes(config.command('reset')
    .description('put every key of the config file back to its default, keeping the old file as <file>.bak-<time>'))
    .action(async (flags: { yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await configRoom()
      const target = resolve(opts.config ?? c.loadConfig({}).file ?? c.defaultConfigPath())
      if (!existsSync(target)) throw new AgoraError('E304', `no config file to reset at ${target}`, { hint: '`agora config init` writes one' })
      await confirm(`reset ${target} to the defaults (the old file is kept beside it)`, flags)
      const backup = c.backupPath(target)
      copyFileSync(target, backup)
      c.initConfigFile(target, { force: true })
      report(`reset ${target} to the defaults; the old file is ${backup}`, { path: target, backup }, opts)
    })

  registerConfigMigrate(config)

  config.command('show')
    .description('the effective configuration (defaults, file and AGORA_* env)')
    .option('--sources', 'show where each value comes from')
    .action(async (flags: { sources?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await configRoom()
      const loaded = c.loadConfig({ configFile: opts.config })
      if (flags.sources === true) {
        say(`file: ${loaded.file ?? '(none: defaults and env)'}`, opts)
        const rows = c.configKeys().map(key => ({ key, value: c.getConfigValue(loaded.config, key), ...loaded.sources[key] }))
        printList(rows, [
          { header: 'key', value: r => r.key },
          { header: 'value', value: r => display(r.value, opts) },
          { header: 'source', value: r => r.source },
          { header: 'origin', value: r => r.origin ?? '-' }
        ], opts)
        return
      }
      say(`# file: ${loaded.file ?? '(none: defaults and env)'}`, opts)
      const flat = Object.fromEntries(c.configKeys().map(key => [key, display(c.getConfigValue(loaded.config, key), opts)]))
      printRecord(loaded.config, opts, undefined, flat)
    })

  config.command('get <key>')
    .description('print one value, e.g. `agora config get api.port`')
    .option('--live', 'the value the running node uses (same --data-dir)')
    .action(async (key: string, flags: { live?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (flags.live === true) {
        printValue(await liveGet(key, opts), opts)
        return
      }
      const c = await configRoom()
      printValue(c.getConfigValue(c.loadConfig({ configFile: opts.config }).config, key), opts)
    })

  config.command('set <key> <value>')
    .description('set one key in the config file in use (created when missing); lists as JSON or comma-separated')
    .option('--live', 'change the running node (same --data-dir): applied now when the key allows, else at its next restart; written to its config file')
    .action(async (key: string, value: string, flags: { live?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (flags.live === true) {
        await liveSet(key, value, opts)
        return
      }
      const c = await configRoom()
      const file = opts.config !== undefined ? resolve(opts.config) : c.findConfigFile() ?? c.defaultConfigPath()
      const result = c.setConfigValue(file, key, value)
      report(`${result.key} = ${JSON.stringify(result.value)} in ${result.file}${result.created ? ' (created)' : ''}`, result, opts)
      if (process.env[result.env] !== undefined && !opts.quiet) {
        process.stderr.write(`note: ${result.env} is set in the environment and overrides this value\n`)
      }
    })

  config.command('validate [file]')
    .description('check a config file (default: the one in use) together with AGORA_* env overrides')
    .action(async (file: string | undefined, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await configRoom()
      const configFile = file ?? opts.config
      const used = configFile ?? c.findConfigFile()
      if (used === undefined) {
        throw new AgoraError('E303', 'no config file found', { why: `searched ${c.configSearchPaths().join(', ')}` })
      }
      const loaded = c.loadConfig({ configFile: used })
      report(`valid: ${loaded.file ?? used}`, { valid: true, file: loaded.file ?? used }, opts)
    })

  config.command('path')
    .description('the config file search order, and which file is in use')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const c = await configRoom()
      const candidates = c.configSearchPaths({ configFile: opts.config })
      const inUse = fileInUse(c, opts.config)
      const rows = candidates.map((path, i) => ({ order: i + 1, path, exists: existsSync(path), inUse: path === inUse }))
      printList(rows, [
        { header: '#', value: r => r.order },
        { header: 'path', value: r => r.path },
        { header: 'exists', value: r => r.exists ? 'yes' : 'no' },
        { header: 'in use', value: r => r.inUse ? '*' : '' }
      ], opts)
      if (inUse === undefined) say(`no config file: defaults and env apply; \`agora config init\` creates ${c.defaultConfigPath()}`, opts)
    })
}

/** A line for humans, the record for --json / --yaml / --csv. */
function report (line: string, record: object, opts: GlobalOptions): void {
  if (opts.format === 'table') say(line, opts)
  else printRecord(record, opts)
}

/** Table cells: an empty string or list must not look like a missing value. */
function display (value: unknown, opts: GlobalOptions): unknown {
  if (opts.format !== 'table') return value
  if (value === '') return '""'
  if (Array.isArray(value) && value.length === 0) return '[]'
  return value
}

/** Plain text for shells (a list one item per line), JSON or YAML when asked. */
function printValue (value: unknown, opts: GlobalOptions): void {
  if (opts.quiet) return
  let text: string
  switch (opts.format) {
    case 'json': text = JSON.stringify(value, null, 2) + '\n'; break
    case 'yaml': text = toYaml(value); break
    default:
      if (Array.isArray(value)) text = value.map(String).join('\n') + (value.length > 0 ? '\n' : '')
      else if (typeof value === 'object' && value !== null) text = toYaml(value)
      else text = String(value) + '\n'
  }
  process.stdout.write(text)
}

function fileInUse (c: ConfigRoom, configFile: string | undefined): string | undefined {
  try {
    return c.findConfigFile({ configFile })
  } catch {
    return undefined // --config names a missing file: nothing is in use
  }
}
