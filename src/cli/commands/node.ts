/** `agora start|stop|restart|status`: run a node, stop it, start it again, see how it is. */
import { Option, type Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor, type StatusDetail, type StatusResponse } from '../../client/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printRecord, say, formatDuration, withSpinner } from '../output.ts'
import { startFlagsToConfig, START_FLAG_NAMES, type StartFlags } from '../start-flags.ts'

/** The flags of `start` (and of `restart`, which starts again with them). */
function startOptions (cmd: Command): Command {
  return cmd
    .option('--api-port <port>', 'HTTP API port (0 = any free port)')
    .option('--api-host <host>', 'HTTP API address (keep it on loopback)')
    .option('--listen <multiaddr...>', 'libp2p listen addresses, e.g. /ip4/0.0.0.0/tcp/41145')
    .option('--announce <multiaddr...>', 'addresses to announce instead of the listen addresses')
    .option('--bootstrap <multiaddr...>', 'peers to dial at start (full multiaddrs with /p2p/<peerId>)')
    .option('--no-mdns', 'do not look for peers on the local network')
    .option('--psk <file>', 'swarm key file: join a private network')
    .addOption(new Option('--trust-mode <mode>', 'who may use this node\'s compute').choices(['private', 'friends', 'public']))
    .option('--no-discovery', 'do not probe local ports for Ollama, LM Studio or llama.cpp')
    .addOption(new Option('--dht-filter <which>', 'addresses the DHT keeps').choices(['public', 'private', 'all']))
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']))
    .addOption(new Option('--log-format <format>', 'log lines as JSON, or readable (default: readable on a terminal; the global --no-color turns their colours off)').choices(['json', 'pretty']))
}

export function registerNodeCommands (program: Command): void {
  startOptions(program.command('start')
    .description('run a node (in the foreground unless --detach)')
    .option('--detach', 'run in the background; logs go to <data-dir>/logs/'))
    .action(async (flags: StartFlags & { detach?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      // the global --no-color reaches the log lines too
      const globals = cmd.optsWithGlobals() as { color?: boolean, debugSafe?: boolean }
      const configFlags = startFlagsToConfig({ ...flags, color: globals.color, debugSafe: globals.debugSafe })
      if (flags.detach === true) {
        const { startDetached } = await import('../../daemon/detach.ts')
        const status = await withSpinner('starting the node…', opts, async () => await startDetached({ dataDir: opts.dataDir, argv: process.argv.slice(2) }))
        printStatus(status, opts)
        return
      }
      const { runNode } = await import('../../daemon/run.ts')
      await runNode({ dataDir: opts.dataDir, configFile: opts.config, flags: configFlags, flagNames: START_FLAG_NAMES })
      // libp2p may leave idle timers behind; the node has stopped, so end the process
      setImmediate(() => process.exit(0))
    })

  program.command('stop')
    .description('stop the node running on the data dir')
    .option('--timeout <seconds>', 'how long to wait for it to exit', '30')
    .action(async (flags: { timeout: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const timeoutS = secondsFlag('--timeout', flags.timeout)
      const client = clientFor(opts.dataDir)
      const { pid } = await client.status()
      await client.stop()
      const { waitForExit } = await import('../../daemon/detach.ts')
      await withSpinner(`waiting for pid ${pid} to exit…`, opts, async () => { await waitForExit(pid, timeoutS * 1000) })
      say(`stopped the node on ${opts.dataDir} (pid ${pid})`, opts)
      if (opts.format !== 'table') printRecord({ stopped: true, pid }, opts)
    })

  startOptions(program.command('restart')
    .description('stop the node on the data dir (if one runs) and start it again in the background, with these start flags and the config file the old one used (unless -c names another)')
    .option('--timeout <seconds>', 'how long to wait for the old one to exit', '30'))
    .action(async (flags: StartFlags & { timeout: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const timeoutS = secondsFlag('--timeout', flags.timeout)
      const { startDetached, waitForExit } = await import('../../daemon/detach.ts')
      let running: { pid: number } | undefined
      let configFile: string | null = null
      try {
        running = await clientFor(opts.dataDir).status()
        // the file it runs with: changes saved there (config set --live) must reach the new node, found by search or not
        if (opts.config === undefined) configFile = (await clientFor(opts.dataDir).config()).file
      } catch {
        // nothing runs on this data dir: a restart is then a start
      }
      if (running !== undefined) {
        await clientFor(opts.dataDir).stop()
        const pid = running.pid
        await withSpinner(`waiting for pid ${pid} to exit…`, opts, async () => { await waitForExit(pid, timeoutS * 1000) })
      }
      // the new node gets the flags given here (settings that should last belong in the config file)
      const argv = ['start', ...process.argv.slice(2).filter(arg => arg !== 'restart')].filter((arg, i, all) => arg !== '--timeout' && all[i - 1] !== '--timeout' && !arg.startsWith('--timeout='))
      if (configFile !== null) argv.push('--config', configFile)
      const status = await withSpinner('starting the node…', opts, async () => await startDetached({ dataDir: opts.dataDir, argv }))
      printStatus(status, opts)
    })

  program.command('status').alias('s')
    .description('peer id, addresses, peers and uptime of the running node')
    .option('--watch [seconds]', 'refresh every few seconds until Ctrl-C')
    .option('--detailed', 'also the DHT, gossip topics and meshes, connections against their limit, and counters')
    .action(async (flags: { watch?: string | boolean, detailed?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const everyMs = (typeof flags.watch === 'string' ? secondsFlag('--watch', flags.watch) : 2) * 1000
      const client = clientFor(opts.dataDir)
      const detailed = flags.detailed === true
      if (flags.watch === undefined || flags.watch === false) {
        printStatus(await client.status({ detailed }), opts)
        return
      }
      for (;;) {
        const status = await client.status({ detailed })
        if (process.stdout.isTTY === true && opts.format === 'table') process.stdout.write('\x1b[2J\x1b[H')
        printStatus(status, opts)
        await new Promise(resolve => setTimeout(resolve, everyMs))
      }
    })
}

function printStatus (status: StatusResponse, opts: GlobalOptions): void {
  printRecord(status, opts, undefined, {
    'peer id': status.peerId,
    did: status.did,
    version: status.version,
    api: status.apiUrl,
    pid: status.pid,
    uptime: formatDuration(status.uptimeMs),
    peers: `${status.peers} connected (${status.connections} connections, ${status.knownPeers} known)`,
    addresses: status.addresses,
    'data dir': status.dataDir,
    ...(status.detail === undefined ? {} : detailView(status.detail))
  })
}

/** The detailed part, one line per fact, for people. */
function detailView (detail: StatusDetail): Record<string, unknown> {
  const { dht, topics, connections, counters } = detail
  return {
    dht: dht.enabled ? `${dht.mode ?? '?'} mode, ${dht.routingTableSize} peers in the routing table` : 'off',
    topics: topics.map(t => `${t.topic}: ${t.subscribers} subscribed, ${t.meshPeers} in the mesh`),
    connections: `${connections.open} of ${connections.max} (${connections.inbound} in, ${connections.outbound} out, ${connections.streams} streams)`,
    counters: Object.entries(counters).map(([name, value]) => `${name.replace(/^agora_/, '')} ${value}`)
  }
}

/** A flag that takes a number of seconds above 0 (NaN made `stop` wait forever and `status --watch` poll without a pause). */
function secondsFlag (flag: string, value: string): number {
  const seconds = Number(value)
  if (value.trim() === '' || !(seconds > 0) || !Number.isFinite(seconds)) throw new AgoraError('E600', `${flag} takes a number of seconds above 0, not '${value}'`)
  return seconds
}
