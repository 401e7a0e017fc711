/** `agora service install|uninstall`: the node as a systemd service (deploy/agora.service). */
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { AgoraError, messageOf } from '../../errors.ts'
import { DEFAULT_SERVICE_DATA_DIR, serviceUnit } from '../../daemon/service-unit.ts'
import { confirm, withYes } from '../confirm.ts'
import { globalOptions } from '../context.ts'
import { printRecord, say } from '../output.ts'

const DEFAULT_UNIT_PATH = '/etc/systemd/system/agora.service'
/** bin/agora.js of this installation. */
const CLI = resolve(join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'agora.js'))

export function registerServiceCommands (program: Command): void {
  const service = program.command('service').description('run the node as a systemd service (Linux)')

  withYes(service.command('install')
    .description('write a hardened systemd unit for this installation (then enable it with systemctl)')
    .option('--path <file>', 'where to write the unit', DEFAULT_UNIT_PATH)
    .option('--user <name>', 'the user the node runs as (create it first: useradd --system)', 'agora')
    .option('--service-data-dir <dir>', 'the node\'s data dir', DEFAULT_SERVICE_DATA_DIR)
    .option('--force', 'replace an existing unit'))
    .action(async (flags: { path: string, user: string, serviceDataDir: string, force?: boolean, yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(flags.user)) throw new AgoraError('E600', `--user '${flags.user}' is not a user name`, { hint: 'lowercase letters, digits, _ and -' })
      const dataDir = resolve(flags.serviceDataDir)
      const path = resolve(flags.path)
      if (existsSync(path)) {
        if (flags.force !== true) throw new AgoraError('E600', `${path} exists already`, { hint: 'pass --force to replace it, or `agora service uninstall` first' })
        await confirm(`replace the unit ${path}`, flags)
      }
      const unit = serviceUnit({ node: process.execPath, cli: CLI, user: flags.user, dataDir })
      try {
        writeFileSync(path, unit, { mode: 0o644 })
      } catch (err) {
        throw new AgoraError('E603', `cannot write ${path}`, { why: messageOf(err), hint: 'run it as root (sudo), or give --path' })
      }
      say(`wrote ${path}; next: useradd --system --home ${dataDir} ${flags.user} (once), then systemctl daemon-reload && systemctl enable --now agora`, opts)
      if (opts.format !== 'table') printRecord({ path, user: flags.user, dataDir }, opts)
    })

  withYes(service.command('uninstall')
    .description('remove the unit (stop and disable the service with systemctl first)')
    .option('--path <file>', 'the unit to remove', DEFAULT_UNIT_PATH))
    .action(async (flags: { path: string, yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const path = resolve(flags.path)
      if (!existsSync(path)) throw new AgoraError('E600', `no unit at ${path}`, { hint: 'give the --path it was installed to' })
      await confirm(`remove the unit ${path}`, flags)
      rmSync(path)
      say(`removed ${path}; run systemctl daemon-reload (after systemctl disable --now agora, if it ran)`, opts)
      if (opts.format !== 'table') printRecord({ path, removed: true }, opts)
    })
}
