/**
 * `agora invite` and `agora join`: joining a network without public
 * infrastructure. The running node signs an invite to itself; `join` checks
 * it, puts its addresses (and swarm key) in the config file, and connects
 * now when a node runs.
 */
import type { Command } from 'commander'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { clientFor, clientIfRunning, type ControlClient } from '../../client/index.ts'
import { parseDuration } from '../jobs-args.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printRecord, say } from '../output.ts'
import { invitesRoom, noteEnvOverride } from './bootstrap.ts'

/** The invites room, loaded when a verb runs (it pulls in zod, yaml and multiaddr). */

export function registerInviteCommands (program: Command): void {
  program.command('invite')
    .description('print a one-line invite to this node, signed by it: its addresses, peer id and expiry (and with --psk the private network\'s swarm key)')
    .option('--psk', 'include the swarm key of this private network (the invite is then a secret)')
    .option('--expires <duration>', 'how long the invite lasts: 30m, 24h, 7d (1 minute to 30 days)', '24h')
    .action(async (flags: { psk?: boolean, expires: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const expiresInMs = parseDuration(flags.expires.trim())
      if (expiresInMs === undefined) throw new AgoraError('E1314', `--expires takes a duration, not '${flags.expires}'`)
      const minted = await clientFor(opts.dataDir).createInvite({ expiresInMs, includePsk: flags.psk === true })
      if (opts.format !== 'table') {
        printRecord(minted, opts)
        return
      }
      // stdout holds the invite alone, so `$(agora invite)` is the invite; the rest is for the person
      process.stdout.write(minted.invite + '\n')
      if (opts.quiet) return
      const notes = [`valid until ${new Date(minted.expiresAt).toISOString()}; join with: agora join <invite>`]
      if (minted.includesPsk) notes.push('it carries the swarm key of this private network: share it only with nodes you want in it')
      if (minted.loopbackOnly) notes.push(`only loopback addresses (${minted.addresses.join(', ')}): it works on this machine only — listen on another interface (network.listen) or announce a public address (network.announce)`)
      process.stderr.write(notes.map(n => `note: ${n}\n`).join(''))
    })

  program.command('join [invite]')
    .description('check an invite, add its node to the bootstrap list (and its swarm key), and connect to it when a node runs here; the invite may come in AGORA_INVITE instead (one with a swarm key should)')
    .option('--trust', 'also trust the inviting node (kept connected, served in friends mode)')
    .action(async (given: string | undefined, flags: { trust?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const text = given ?? process.env[INVITE_ENV]
      if (text === undefined || text.trim() === '') throw new AgoraError('E600', 'join needs an invite', { hint: `agora join <invite>, or ${INVITE_ENV}="$(cat invite.txt)" agora join` })
      await join(text.trim(), flags.trust === true, opts, given !== undefined)
    })
}

interface JoinReport {
  peerId: string
  expiresAt: number
  file: string
  added: string[]
  present: string[]
  swarmKey: { path: string, changed: boolean } | null
  nodeRunning: boolean
  connected: { address: string } | null
  trusted: boolean
}

/** Where `join` finds an invite not given on the command line. */
const INVITE_ENV = 'AGORA_INVITE'

async function join (text: string, trust: boolean, opts: GlobalOptions, onCommandLine: boolean): Promise<void> {
  const room = await invitesRoom()
  const invite = room.readInvite(text)
  if (onCommandLine && invite.psk !== undefined) {
    // a secret in argv is readable by every user of the machine (ps, /proc) and stays in the shell's history
    process.stderr.write(`warning: this invite carries the swarm key of a private network, and a command line is visible to other users (ps) and kept in your shell history; pass it in ${INVITE_ENV} instead: ${INVITE_ENV}="$(cat invite.txt)" agora join\n`)
  }
  const file = room.configFileToEdit(opts.config)
  // the key first: a list of peers we cannot talk to (another private network) is no use
  const swarmKey = invite.psk === undefined ? null : room.joinSwarmKey(file, opts.dataDir, invite.psk)
  const { added, present } = room.addBootstrapPeers(file, invite.addresses)
  const client = clientIfRunning(opts.dataDir)
  const report: JoinReport = { peerId: invite.peerId, expiresAt: invite.expiresAt, file, added, present, swarmKey, nodeRunning: client !== undefined, connected: null, trusted: false }
  say(`invite from ${invite.peerId}, valid until ${new Date(invite.expiresAt).toISOString()}`, opts)
  say(`bootstrap: ${added.length === 0 ? 'its addresses were in' : `added ${added.length} address${added.length === 1 ? '' : 'es'} to`} ${file}${added.length > 0 && present.length > 0 ? ` (${present.length} were there already)` : ''}`, opts)
  if (swarmKey !== null) say(`swarm key: ${swarmKey.changed ? `written to ${swarmKey.path}, network.psk names it` : `network.psk uses it already (${swarmKey.path})`}`, opts)
  noteEnvOverride(opts)

  if (client === undefined) {
    say(`no node runs on ${opts.dataDir}: the list is saved and used at the next \`agora start\`${trust ? `; trust the peer then: agora peers trust ${invite.peerId}` : ''}`, opts)
  } else if (swarmKey?.changed === true) {
    // a running node speaks the network it started with; the key takes effect at its restart
    say(`the running node does not use the new swarm key yet: restart it (\`agora restart\`) and it joins the private network${trust ? `; then: agora peers trust ${invite.peerId}` : ''}`, opts)
  } else {
    report.connected = await connectAny(client, invite.peerId, invite.addresses)
    say(`connected to ${invite.peerId} at ${report.connected.address}`, opts)
    if (trust) {
      await client.trust(invite.peerId)
      report.trusted = true
      say(`trusted ${invite.peerId}`, opts)
    }
  }
  if (opts.format !== 'table') printRecord(report, opts)
}

/** Dial the addresses in order until one answers; E1319 with every reason when none does. */
async function connectAny (client: ControlClient, peerId: string, addresses: readonly string[]): Promise<{ address: string }> {
  const failures: string[] = []
  for (const address of addresses) {
    try {
      await client.connect(address)
      return { address }
    } catch (err) {
      failures.push(`${address}: ${isAgoraError(err) ? err.why ?? err.what : messageOf(err)}`)
    }
  }
  throw new AgoraError('E1319', `could not connect to ${peerId} now (the bootstrap list is saved; the node keeps trying it at its next start)`, { why: failures.join('; ') })
}
