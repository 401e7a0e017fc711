/** `agora peers list|info|connect|disconnect|remove|ping|trust|untrust|ban|unban`. */
import { confirm, withYes } from '../confirm.ts'
import { Option, type Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor, type PeerEntry } from '../../client/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, say } from '../output.ts'
import { BAN_FOREVER, MAX_BAN_DURATION_MS } from '../../peers/constants.ts'

export function registerPeersCommands (program: Command): void {
  const peers = program.command('peers').description('peers of this node')

  peers.command('list').alias('ls')
    .description('connected peers with their addresses and latency')
    .option('--all', 'also peers known from the peer book but not connected')
    .addOption(new Option('--sort <key>', 'sort order').choices(['latency', 'reputation', 'peer']).default('latency'))
    .action(async (flags: { all?: boolean, sort: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const rows = (await clientFor(opts.dataDir).peers()).filter(p => flags.all === true || p.connected)
      rows.sort(SORTS[flags.sort] ?? byLatency)
      printList(rows, [
        { header: 'peer', value: p => p.peerId },
        { header: 'latency', value: p => p.latencyMs === null ? '-' : `${p.latencyMs.toFixed(1)} ms` },
        { header: 'reputation', value: p => p.reputation.toFixed(2) },
        { header: 'connected', value: p => p.connected ? 'yes' : 'no' },
        { header: 'flags', value: p => flagsOf(p) },
        { header: 'addresses', value: p => p.addresses }
      ], opts)
    })

  peers.command('info <peerId>')
    .description('everything this node knows of one peer: addresses, latency, reputation, trust, ban')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const peer = (await clientFor(opts.dataDir).peers()).find(p => p.peerId === peerId)
      if (peer === undefined) throw new AgoraError('E505', `no peer ${peerId} in the peer book`, { hint: '`agora peers list --all` shows every peer this node knows' })
      printPeer(peer, opts)
    })

  peers.command('connect <multiaddrOrPeerId>')
    .description('dial a peer by address (e.g. /ip4/127.0.0.1/tcp/41145/p2p/12D3KooW…), or by peer id alone (its addresses from the peer book or the DHT)')
    .action(async (target: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).connect(target), opts)
    })

  withYes(peers.command('disconnect [peerId]')
    .description('close every connection to a peer; with no peer id, to every peer (after a confirmation)'))
    .action(async (peerId: string | undefined, flags: { yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const client = clientFor(opts.dataDir)
      if (peerId !== undefined) {
        printRecord(await client.disconnect(peerId), opts)
        return
      }
      const connected = (await client.peers()).filter(p => p.connected)
      await confirm(`disconnect from all ${connected.length} connected peers`, flags)
      const results = []
      for (const peer of connected) results.push(await client.disconnect(peer.peerId))
      if (opts.format === 'table') say(`disconnected from ${results.filter(r => r.disconnected).length} peers`, opts)
      else printRecord(results, opts)
    })

  peers.command('remove <peerId>').alias('rm')
    .description('hang up on a peer and forget it: its addresses, reputation and trust (a banned peer stays, ban and all, until unbanned)')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const result = await clientFor(opts.dataDir).removePeer(peerId)
      if (opts.format === 'table') say(result.removed ? `removed ${peerId}` : `${peerId} was not known`, opts)
      else printRecord(result, opts)
    })

  peers.command('trust <peerId>')
    .description('trust a peer: kept connected, never banned automatically, served in friends mode')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printPeer(await clientFor(opts.dataDir).trust(peerId), opts)
    })

  peers.command('untrust <peerId>')
    .description('stop trusting a peer')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printPeer(await clientFor(opts.dataDir).untrust(peerId), opts)
    })

  withYes(peers.command('ban <peerId>')
    .description('disconnect a peer and refuse it (until unbanned, or for --for)')
    .option('--reason <text>', 'why, shown in peers list')
    .option('--for <minutes>', 'lift the ban after this many minutes'))
    .action(async (peerId: string, flags: { reason?: string, for?: string, yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const minutes = flags.for === undefined ? undefined : Number(flags.for)
      if (minutes !== undefined && !(minutes > 0)) throw new AgoraError('E600', `--for takes a number of minutes, not '${flags.for}'`)
      if (minutes !== undefined && minutes * 60_000 > MAX_BAN_DURATION_MS) throw new AgoraError('E600', `--for ${flags.for} is longer than the 100 years a ban with an expiry may last`, { hint: 'leave --for out to ban until `agora peers unban`' })
      const body = { ...(flags.reason === undefined ? {} : { reason: flags.reason }), ...(minutes === undefined ? {} : { durationMs: Math.max(1, Math.round(minutes * 60_000)) }) }
      await confirm(`ban ${peerId} (disconnected and refused${minutes === undefined ? ' until unbanned' : ` for ${flags.for} minutes`})`, flags)
      printPeer(await clientFor(opts.dataDir).ban(peerId, body), opts)
    })

  peers.command('unban <peerId>')
    .description('lift a ban')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printPeer(await clientFor(opts.dataDir).unban(peerId), opts)
    })

  peers.command('ping <peerId>')
    .description('measure the round trip to a connected peer')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const result = await clientFor(opts.dataDir).ping(peerId)
      printRecord(result, opts, undefined, { peer: result.peerId, latency: `${result.latencyMs.toFixed(2)} ms` })
    })
}

function byLatency (a: PeerEntry, b: PeerEntry): number {
  return (a.latencyMs ?? Number.POSITIVE_INFINITY) - (b.latencyMs ?? Number.POSITIVE_INFINITY)
}

const SORTS: Record<string, (a: PeerEntry, b: PeerEntry) => number> = {
  latency: byLatency,
  reputation: (a, b) => b.reputation - a.reputation,
  peer: (a, b) => a.peerId.localeCompare(b.peerId)
}

function flagsOf (peer: PeerEntry): string {
  const flags: string[] = []
  if (peer.trusted) flags.push('trusted')
  if (peer.bannedUntil !== null && peer.bannedUntil > Date.now()) flags.push(`banned${peer.banReason === null ? '' : ` (${peer.banReason})`}`)
  return flags.join(', ')
}

function printPeer (peer: PeerEntry, opts: GlobalOptions): void {
  printRecord(peer, opts, undefined, { peer: peer.peerId, reputation: peer.reputation.toFixed(3), trusted: peer.trusted ? 'yes' : 'no', banned: flagsOf(peer).includes('banned') ? banText(peer.bannedUntil ?? 0) : 'no' })
}

/** A manual ban without expiry is stored as the largest safe integer, which no Date can show. */
function banText (until: number): string {
  return until >= BAN_FOREVER ? 'until unbanned' : `until ${new Date(until).toISOString()}`
}
