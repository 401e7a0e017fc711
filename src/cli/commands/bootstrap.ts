/**
 * `agora bootstrap list|add|remove|test`: the peers a node dials at start
 * (network.bootstrap). list/add/remove work on the config file, as
 * `agora config set` does; test dials each through the running node.
 */
import type { Command } from 'commander'
import type * as InvitesRoom from '../../invites/index.ts'
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { clientFor, type ControlClient } from '../../client/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, say } from '../output.ts'
import { NO_BOOTSTRAP_PEERS } from '../../invites/constants.ts'


/** The invites room, loaded when a command needs it (most commands never do). */
export const invitesRoom = async (): Promise<typeof InvitesRoom> => await import('../../invites/index.ts')

export function registerBootstrapCommands (program: Command): void {
  const bootstrap = program.command('bootstrap').description('the peers this node dials at start (network.bootstrap)')

  bootstrap.command('list').alias('ls')
    .description('the configured bootstrap peers and where the list comes from')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { list, origin } = await effectiveList(opts)
      if (list.length === 0 && opts.format === 'table') {
        say(NO_BOOTSTRAP_PEERS, opts)
        return
      }
      const room = await invitesRoom()
      printList(list.map(address => ({ address, peerId: peerOf(room.peerIdOf, address), source: origin })), [
        { header: 'address', value: r => r.address },
        { header: 'peer', value: r => r.peerId },
        { header: 'from', value: r => r.source }
      ], opts)
    })

  bootstrap.command('add <multiaddr>')
    .description('add a peer (a full multiaddr ending in /p2p/<peer id>) to the bootstrap list of the config file')
    .action(async (address: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const room = await invitesRoom()
      const result = room.addBootstrapPeers(room.configFileToEdit(opts.config), [address])
      if (opts.format !== 'table') printRecord(result, opts)
      else say(result.added.length > 0 ? `added ${result.added[0] ?? address} to ${result.file}` : `${result.present[0] ?? address} is in ${result.file} already`, opts)
      noteEnvOverride(opts)
    })

  bootstrap.command('remove <multiaddrOrPeerId>').alias('rm')
    .description('remove an address from the bootstrap list of the config file, or every address of a peer id')
    .action(async (target: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const room = await invitesRoom()
      const result = room.removeBootstrapPeer(room.configFileToEdit(opts.config), target)
      if (opts.format !== 'table') printRecord(result, opts)
      else say(`removed ${result.removed.join(', ')} from ${result.file}`, opts)
      noteEnvOverride(opts)
    })

  bootstrap.command('test')
    .description('dial each bootstrap peer through the running node: reachable or not, why, and the round-trip time')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { list } = await effectiveList(opts)
      if (list.length === 0) {
        say(NO_BOOTSTRAP_PEERS, opts)
        if (opts.format !== 'table') printList([], [], opts)
        return
      }
      const client = nodeForTest(opts.dataDir)
      const rows: TestRow[] = []
      for (const address of list) rows.push(await testOne(client, address))
      printList(rows, [
        { header: 'address', value: r => r.address },
        { header: 'result', value: r => r.reachable ? 'reachable' : 'unreachable' },
        { header: 'rtt', value: r => r.rttMs === null ? '-' : `${r.rttMs.toFixed(1)} ms` },
        { header: 'reason', value: r => r.reason ?? '' }
      ], opts)
      const down = rows.filter(r => !r.reachable)
      if (down.length > 0) {
        throw new AgoraError('E1319', `${down.length} of ${rows.length} bootstrap peer${rows.length === 1 ? ' is' : 's are'} unreachable`, { why: down.map(r => r.address).join(', ') })
      }
    })
}

interface TestRow {
  address: string
  peerId: string | null
  reachable: boolean
  /** Round-trip time of a ping once connected. */
  rttMs: number | null
  reason: string | null
}

/** Dial one address (even when connected: a wrong address must fail), then ping for the round trip. */
async function testOne (client: ControlClient, address: string): Promise<TestRow> {
  let peerId: string
  try {
    peerId = (await client.connect(address)).peerId
  } catch (err) {
    return { address, peerId: null, reachable: false, rttMs: null, reason: reasonOf(err) }
  }
  try {
    return { address, peerId, reachable: true, rttMs: (await client.ping(peerId)).latencyMs, reason: null }
  } catch (err) {
    return { address, peerId, reachable: true, rttMs: null, reason: `connected, but the ping failed: ${reasonOf(err)}` }
  }
}

function reasonOf (err: unknown): string {
  return isAgoraError(err) ? err.why ?? err.what : messageOf(err)
}

/** The list the node would use (file and env), and where it comes from. */
async function effectiveList (opts: GlobalOptions): Promise<{ list: string[], origin: string }> {
  const { loadConfig } = await import('../../config/index.ts')
  const loaded = loadConfig({ configFile: opts.config })
  const source = loaded.sources['network.bootstrap']
  return { list: loaded.config.network.bootstrap, origin: source?.origin ?? source?.source ?? 'default' }
}

function nodeForTest (dataDir: string): ControlClient {
  try {
    return clientFor(dataDir)
  } catch (err) {
    if (!isAgoraError(err, 'E601')) throw err
    throw new AgoraError('E601', err.what, { why: 'bootstrap test dials through the running node', hint: 'start it first: `agora start --detach` (same --data-dir), then run `agora bootstrap test` again' })
  }
}

function peerOf (peerIdOf: (address: string) => string, address: string): string {
  try {
    return peerIdOf(address)
  } catch {
    return '-'
  }
}

/** A variable overriding the file's list makes an edit of the file moot until it is unset: say so. */
export function noteEnvOverride (opts: GlobalOptions): void {
  if (process.env.AGORA_NETWORK_BOOTSTRAP !== undefined && !opts.quiet) process.stderr.write('note: AGORA_NETWORK_BOOTSTRAP is set in the environment and overrides the list in the file\n')
}
