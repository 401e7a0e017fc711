/**
 * `agora setup` and `agora config init --interactive`: the answers start
 * from the config in use, the steps run on the terminal, and the result is
 * written. Without a terminal it refuses (E1340) after printing the
 * commands that do the same by hand.
 */
import { existsSync } from 'node:fs'
import { defaultConfig, loadConfig } from '../../config/index.ts'
import { AgoraError } from '../../errors.ts'
import { readIdentity } from '../../identity/index.ts'
import { defaultDataDir, type GlobalOptions } from '../context.ts'
import { printRecord, say } from '../output.ts'
import { equivalentCommands, initialAnswers } from './answers.ts'
import { machineProbes } from './probes.ts'
import { runSteps, SETUP_STEPS, type SetupContext } from './steps.ts'
import { onTerminal, terminalPrompter } from './terminal.ts'
import { writeSetup } from './write.ts'

export interface SetupTarget {
  /** Absolute path of the config file to write. */
  configFile: string
  /** Start from the defaults (`config init --interactive`), not from the file that is there. */
  fresh: boolean
  /** Name the file in the printed commands (it was given with --config or --path). */
  named: boolean
}

export async function runSetup (opts: GlobalOptions, target: SetupTarget): Promise<void> {
  const fileThere = existsSync(target.configFile)
  const fresh = target.fresh || !fileThere
  const config = fresh ? defaultConfig() : loadConfig({ configFile: target.configFile }).config
  const existingPeerId = await readIdentity(opts.dataDir).then(id => id.peerIdString, () => undefined)
  const answers = initialAnswers(config, existingPeerId)
  const commandsOf = (a: typeof answers): string[] => equivalentCommands(a, { configFile: target.named ? target.configFile : undefined, dataDir: opts.dataDir === defaultDataDir() ? undefined : opts.dataDir, fresh })

  if (!onTerminal()) {
    // what the wizard would do with every answer left as it is
    process.stdout.write(commandsOf(answers).map(line => (fileThere && line.startsWith('agora config init') ? `${line} --force` : line) + '\n').join(''))
    throw new AgoraError('E1340', '`agora setup` asks its questions on a terminal', { why: 'stdin or stdout is not a terminal; the commands above do the same with the current values' })
  }

  const ctx: SetupContext = { prompt: terminalPrompter(), probes: machineProbes(), existingPeerId, commandsOf, configFile: target.configFile }
  say(`Agora setup — data dir ${opts.dataDir}, config ${target.configFile}. Each step can go back ("← back"); nothing is written before the review.`, opts)
  if (!await runSteps(SETUP_STEPS, answers, ctx)) {
    say('nothing written', opts)
    return
  }
  const result = await writeSetup(answers, { dataDir: opts.dataDir, configFile: target.configFile, fresh })
  if (opts.format !== 'table') { printRecord(result, opts); return }
  say(`wrote ${result.configFile}`, opts)
  if (result.peerId !== undefined) say(`identity: ${result.peerId}`, opts)
  if (result.providers.length > 0) say(`engines added: ${result.providers.join(', ')}`, opts)
  say(result.nodeRunning ? 'a node runs on this data dir: `agora restart` puts the new config in force' : 'start the node with `agora start`', opts)
}
