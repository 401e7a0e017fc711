/**
 * `agora start` in the foreground: load the config, build and start the node,
 * and stop it gracefully on SIGINT/SIGTERM (a second signal forces the exit).
 * Resolves when the node has stopped.
 */
import { loadConfig, type DeepPartial, type AgoraConfig } from '../config/index.ts'
import { AgoraNode } from '../node.ts'
import { prepareDataDir } from './data-dir.ts'
import { ALONE_AFTER_MS, connectivityNote, startBanner } from './banner.ts'
import { IDENTITY_KEY_FILE } from '../identity/constants.ts'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface RunNodeInit {
  dataDir: string
  configFile: string | undefined
  flags: DeepPartial<AgoraConfig>
  /** Dotted key → the flag that set it, for `config show --sources` and errors. */
  flagNames?: Record<string, string>
}

export async function runNode (init: RunNodeInit): Promise<void> {
  prepareDataDir(init.dataDir)
  const fresh = !existsSync(join(init.dataDir, IDENTITY_KEY_FILE))
  const { config, file, sources } = loadConfig({ configFile: init.configFile, flags: init.flags, flagNames: init.flagNames })
  // logs go to stderr: the terminal in the foreground, logs/agora.log when detached
  // the file is where run-time config changes are written (PATCH /api/v1/config)
  const node = await AgoraNode.create({ dataDir: init.dataDir, config, configFile: file, configSources: sources })

  let signals = 0
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++
    if (signals > 1) {
      process.stderr.write(`${signal} again: exiting now\n`)
      process.exit(130)
    }
    void node.stop(`received ${signal}`)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  await node.start()
  // for people, on stdout (the logs are on stderr)
  process.stdout.write(startBanner(node, fresh, config.network.bootstrap.length))
  const alone = setTimeout(() => {
    const note = connectivityNote(node.components.libp2p.getPeers().length, config.network.bootstrap.length, config.network.mdns)
    if (note !== undefined) process.stdout.write(note + '\n')
  }, ALONE_AFTER_MS)
  alone.unref()
  await node.whenStopped()
  clearTimeout(alone)
  process.off('SIGINT', onSignal)
  process.off('SIGTERM', onSignal)
}
