/** `agora peers list|connect|disconnect|ping`. */
import type { Command } from 'commander'
import { clientFor, type PeerEntry } from '../../client/index.ts'
import { globalOptions } from '../context.ts'
import { printList, printRecord } from '../output.ts'

export function registerPeersCommands (program: Command): void {
  const peers = program.command('peers').description('peers of this node')

  peers.command('list').alias('ls')
    .description('connected peers with their addresses and latency')
    .option('--all', 'also peers known from the peer book but not connected')
    .option('--sort <key>', 'sort by latency or peer', 'latency')
    .action(async (flags: { all?: boolean, sort: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const rows = (await clientFor(opts.dataDir).peers()).filter(p => flags.all === true || p.connected)
      rows.sort(flags.sort === 'peer' ? (a, b) => a.peerId.localeCompare(b.peerId) : byLatency)
      printList(rows, [
        { header: 'peer', value: p => p.peerId },
        { header: 'latency', value: p => p.latencyMs === null ? '-' : `${p.latencyMs.toFixed(1)} ms` },
        { header: 'connected', value: p => p.connected ? 'yes' : 'no' },
        { header: 'addresses', value: p => p.addresses }
      ], opts)
    })

  peers.command('connect <multiaddr>')
    .description('dial a peer, e.g. /ip4/127.0.0.1/tcp/41145/p2p/12D3KooW…')
    .action(async (multiaddr: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).connect(multiaddr), opts)
    })

  peers.command('disconnect <peerId>')
    .description('close every connection to a peer')
    .action(async (peerId: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printRecord(await clientFor(opts.dataDir).disconnect(peerId), opts)
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
