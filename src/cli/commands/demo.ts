/**
 * `agora demo [--stop] [--no-keep-running]`: a local 3-node swarm in a temp
 * folder, a chat, an embedding and a job run through it, printed step by
 * step, then left running (the friendlier default: the user can play with
 * it) with the lines to talk to it and to stop it.
 */
import { existsSync, rmSync } from 'node:fs'
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printRecord, say } from '../output.ts'

export function registerDemoCommand (program: Command): void {
  program.command('demo')
    .description('start a local 3-node swarm (temp folder) and run a chat, an embedding and a job through it; it keeps running until `agora demo --stop`')
    .option('--stop', 'stop the demo swarm and remove its folder')
    .option('--no-keep-running', 'stop the swarm and remove its folder as soon as the demo is done')
    .action(async (flags: { stop?: boolean, keepRunning: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (flags.stop === true) await stopDemo(opts)
      else await runDemo(opts, flags.keepRunning)
    })
}

async function runDemo (opts: GlobalOptions, keepRunning: boolean): Promise<void> {
  const demo = await import('../../demo/index.ts')
  const state = demo.claimDemoDir()
  say(`agora demo: starting a 3-node swarm in ${state.dir}`, opts)
  const nodes = await demo.startSwarm(state, { onReady: (node, ms) => { say(demo.nodeLine(node, ms), opts) } })
  const gatewayNode = nodes[0] as (typeof nodes)[number]
  try {
    const gateway = new demo.DemoGateway(gatewayNode, nodes)
    say(demo.meshLine(await gateway.waitForMesh()), opts)
    say('', opts)
    const chat = await gateway.chat()
    say(demo.chatLine(chat, gatewayNode.name), opts)
    const embedding = await gateway.embed()
    say(demo.embedLine(embedding, gatewayNode.name), opts)
    const job = await gateway.job()
    say(demo.jobLine(job), opts)
    const summary = {
      dir: state.dir,
      keptRunning: keepRunning,
      stop: demo.STOP_COMMAND,
      nodes: nodes.map(n => ({ ...n, v1Url: `${n.apiUrl}/v1` })),
      chat,
      embedding,
      job
    }
    if (keepRunning) {
      say(demo.nextSteps(nodes, state.dir), opts)
      if (opts.format !== 'table') printRecord(summary, opts)
      return
    }
    const stopped = await demo.stopSwarm(state)
    say('', opts)
    say(demo.stoppedLine(stopped), opts)
    if (opts.format !== 'table') printRecord({ ...summary, stopped }, opts)
  } catch (err) {
    // a failed step leaves the swarm up for a look at its logs, unless asked not to keep it
    if (!keepRunning) await demo.stopSwarm(state).catch(() => {})
    throw err
  }
}

async function stopDemo (opts: GlobalOptions): Promise<void> {
  const demo = await import('../../demo/index.ts')
  const dir = demo.demoDir()
  const state = demo.readState(dir)
  if (state === undefined) {
    if (!existsSync(dir)) throw new AgoraError('E1303', 'no demo swarm is running', { why: `${dir} does not exist` })
    // a folder left without its state file (a demo killed while it began): nothing in it was started
    rmSync(dir, { recursive: true, force: true })
    say(`no demo was running; removed ${dir}`, opts)
    if (opts.format !== 'table') printRecord({ nodes: [], removed: dir }, opts)
    return
  }
  const stopped = await demo.stopSwarm(state)
  say(demo.stoppedLine(stopped), opts)
  if (opts.format !== 'table') printRecord(stopped, opts)
}
