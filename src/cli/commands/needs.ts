/**
 * `agora market need|needs|proposals|decide|withdraw` (docs/market.md
 * "Auctions"): put out a NEED, watch the proposals come in, decide one.
 * Values the node would refuse are refused here first, naming the flag
 * (E600, exit 2).
 */
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor } from '../../client/index.ts'
import type { NeedJson } from '../../client/needs-schemas.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { creditsFlag, parseDuration } from '../jobs-args.ts'
import { printList, printRecord } from '../output.ts'

const POLL_MS = 250

export function registerNeedCommands (market: Command): void {
  market.command('need')
    .description('put out a NEED on the network: sellers propose until the deadline, then the best proposal becomes a contract')
    .requiredOption('--task-type <type>', 'the task type wanted, e.g. text.embed')
    .requiredOption('--quantity <n>', 'how many tasks')
    .requiredOption('--budget <credits>', 'the most the whole need may cost')
    .option('--deadline <duration>', 'how long proposals are taken, e.g. 30s or 10m', '10m')
    .option('--manual', 'decide yourself (agora market decide) instead of at the deadline')
    .option('--wait', 'wait for the decision and print the need as decided')
    .action(async (flags: { taskType: string, quantity: string, budget: string, deadline: string, manual?: boolean, wait?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const deadlineInMs = parseDuration(flags.deadline.trim())
      if (deadlineInMs === undefined) throw new AgoraError('E600', `--deadline takes a duration, not '${flags.deadline}'`, { hint: 'e.g. --deadline 30s, 10m, 2h' })
      const { checkFlags } = await import('../check-flags.ts')
      const { needBody } = await import('../../client/needs-schemas.ts')
      const body = { taskType: flags.taskType, quantity: Number(flags.quantity), budget: await creditsFlag('--budget', flags.budget), deadlineInMs, decide: flags.manual === true ? 'manual' as const : 'auto' as const }
      checkFlags(needBody, body, { taskType: '--task-type', quantity: '--quantity', budget: '--budget', deadlineInMs: '--deadline', decide: '--manual' }, 'market need')
      const client = clientFor(opts.dataDir)
      let need = await client.createNeed(body)
      if (flags.wait === true && !flags.manual) {
        // decided at the deadline; the winner's ACCEPT follows within the request timeout
        const until = need.deadline + 60_000
        while ((need.state === 'open' || need.state === 'deciding') && Date.now() < until) {
          await new Promise(resolve => setTimeout(resolve, POLL_MS))
          need = (await client.need(need.id)).need
        }
      }
      printNeed(need, opts)
      if (flags.wait === true && need.state !== 'decided' && !flags.manual) process.exitCode = 1
    })

  market.command('needs')
    .description('needs this node put out, newest first')
    .option('--state <state>', 'only needs in this state (open, deciding, decided, failed, expired, cancelled)')
    .option('--limit <n>', 'at most this many')
    .action(async (flags: { state?: string, limit?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { checkFlags } = await import('../check-flags.ts')
      const { needsQuery } = await import('../../client/needs-schemas.ts')
      const query = checkFlags(needsQuery, { state: flags.state, limit: flags.limit }, { state: '--state', limit: '--limit' }, 'market needs')
      printList(await clientFor(opts.dataDir).needs(query), [
        { header: 'need', value: n => n.id },
        { header: 'task type', value: n => n.taskType },
        { header: 'qty', value: n => n.quantity },
        { header: 'budget', value: n => n.budget },
        { header: 'state', value: n => n.reason === null ? n.state : `${n.state} (${n.reason})` },
        { header: 'seller', value: n => n.seller ?? '' },
        { header: 'deadline', value: n => new Date(n.deadline).toISOString() }
      ], opts)
    })

  market.command('proposals <needId>')
    .description('the proposals for a need, best first (the router\'s score: reputation, price, latency, load)')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { need, proposals } = await clientFor(opts.dataDir).need(id)
      if (opts.format !== 'table') { printRecord({ need, proposals }, opts); return }
      printList(proposals, [
        { header: 'seller', value: p => p.seller },
        { header: 'unit price', value: p => p.unitPrice },
        { header: 'total', value: p => p.total },
        { header: 'eta', value: p => `${(p.etaMs / 1000).toFixed(1)} s` },
        { header: 'capacity', value: p => p.capacity },
        { header: 'score', value: p => p.score.toFixed(3) },
        { header: 'state', value: p => p.reason === null ? p.state : `${p.state} (${p.reason})` }
      ], opts)
      if (proposals.length === 0) printRecord(need, opts, undefined, { need: need.id, state: need.state, proposals: 'none yet' })
    })

  market.command('decide <needId>')
    .description('decide a need now: the best proposal (or --seller\'s) becomes a contract')
    .option('--seller <peerId>', 'take this seller\'s proposal')
    .action(async (id: string, flags: { seller?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      printNeed(await clientFor(opts.dataDir, { timeoutMs: 15 * 60_000 }).decideNeed(id, flags.seller), opts)
    })

  market.command('withdraw <needId>')
    .description('withdraw an open need: no decision will be made')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printNeed(await clientFor(opts.dataDir).cancelNeed(id), opts)
    })
}

function printNeed (n: NeedJson, opts: GlobalOptions): void {
  printRecord(n, opts, undefined, {
    need: n.id,
    state: n.reason === null ? n.state : `${n.state} (${n.reason})`,
    'task type': n.taskType,
    quantity: n.quantity,
    budget: n.budget,
    deadline: new Date(n.deadline).toISOString(),
    decide: n.decideMode,
    ...(n.seller === null ? {} : { seller: n.seller }),
    ...(n.contractId === null ? {} : { contract: n.contractId })
  })
}
