/**
 * `agora identity show|export|import`. The private key never crosses the
 * control API: export and import work on the key file of the data dir, and
 * import refuses while a node runs on it.
 */
import { confirm, withYes } from '../confirm.ts'
import { readFileSync, writeFileSync } from 'node:fs'
import type { Command } from 'commander'
import { AgoraError, messageOf } from '../../errors.ts'
import { readApiInfo, isAlive } from '../../client/index.ts'
import { globalOptions } from '../context.ts'
import type * as IdentityRoom from '../../identity/index.ts'
import { printRecord, say } from '../output.ts'

/** The identity room, loaded when an identity verb runs (it pulls in libp2p's crypto). */
const identityRoom = async (): Promise<typeof IdentityRoom> => await import('../../identity/index.ts')

export function registerIdentityCommands (program: Command): void {
  const identity = program.command('identity').description('the node key: peer id, did:key, PEM export and import')

  identity.command('show')
    .description('peer id, did:key and public key of the data dir\'s node')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const id = await (await identityRoom()).readIdentity(opts.dataDir)
      printRecord({ peerId: id.peerIdString, did: id.did, publicKey: Buffer.from(id.publicKeyRaw).toString('base64') }, opts)
    })

  identity.command('export')
    .description('write the private key as PEM to --out (mode 0600), or to stdout when it is not a terminal (a pipe, a file)')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('--force', 'print it on the terminal all the same (it stays in the scrollback)')
    .action(async (flags: { out?: string, force?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      // a private key on the screen stays in scrollback, recordings and screen shares
      if (flags.out === undefined && process.stdout.isTTY === true && flags.force !== true) {
        throw new AgoraError('E600', 'not printing the private key on a terminal', { hint: 'write it to a file with `--out FILE` (mode 0600), pipe it (`agora identity export > key.pem`), or pass --force' })
      }
      const { exportIdentityPem, readIdentity } = await identityRoom()
      const pem = exportIdentityPem(await readIdentity(opts.dataDir))
      if (flags.out === undefined) { process.stdout.write(pem); return }
      writeFileSync(flags.out, pem, { mode: 0o600, flag: 'wx' })
      say(`wrote the key to ${flags.out} — keep it secret`, opts)
    })

  withYes(identity.command('import <file>')
    .description('use the Ed25519 key in a PEM file as this data dir\'s identity')
    .option('--force', 'replace an existing key (its peer id is lost unless exported)'))
    .action(async (file: string, flags: { force?: boolean, yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      refuseWhileRunning(opts.dataDir)
      if (flags.force === true) await confirm(`replace the identity of ${opts.dataDir} (its peer id is lost unless exported)`, flags)
      let pem: string
      try {
        pem = readFileSync(file, 'utf8')
      } catch (err) {
        throw new AgoraError('E101', `cannot read ${file}`, { why: messageOf(err) })
      }
      const id = await (await identityRoom()).importIdentityPem(opts.dataDir, pem, { force: flags.force === true })
      printRecord({ peerId: id.peerIdString, did: id.did, imported: true }, opts)
    })
}

function refuseWhileRunning (dataDir: string): void {
  let pid: number | undefined
  try {
    pid = readApiInfo(dataDir).info.pid
  } catch {
    return // no node on this data dir
  }
  if (isAlive(pid)) throw new AgoraError('E602', `a node is running on ${dataDir} (pid ${pid})`, { hint: 'stop it with `agora stop` before changing its identity' })
}
