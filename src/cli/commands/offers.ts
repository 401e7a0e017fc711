/** `agora offers list|show|withdraw|announce` and `agora models list`: what the network offers. */
import { confirm, withYes } from '../confirm.ts'
import type { Command } from 'commander'
import { clientFor } from '../../client/index.ts'
import type { Offer } from '../../offers/index.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { printList, printRecord, say } from '../output.ts'
import { creditsFlag } from '../jobs-args.ts'

export function registerOffersCommands (program: Command): void {
  const offers = program.command('offers').description('signed offers: what each node serves, at what price')

  offers.command('list').alias('ls')
    .description('valid offers on the network (this node\'s included)')
    .option('--model <name>', 'only offers serving this model')
    .option('--task-type <type>', 'only offers running this task type')
    .option('--max-price <credits>', 'only offers at or under this price')
    .option('--zone <zone>', 'only offers in this zone')
    .action(async (flags: { model?: string, taskType?: string, maxPrice?: string, zone?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const maxPrice = flags.maxPrice === undefined ? undefined : await creditsFlag('--max-price', flags.maxPrice)
      const list = await clientFor(opts.dataDir).offers({ model: flags.model, taskType: flags.taskType, maxPrice, zone: flags.zone })
      printList(list, [
        { header: 'offer', value: o => o.id },
        { header: 'node', value: o => o.node },
        { header: 'models', value: o => o.models.map(m => m.name) },
        { header: 'task types', value: o => o.taskTypes },
        { header: 'slots idle/total', value: o => `${o.capacity.slotsIdle}/${o.capacity.slotsTotal}` },
        { header: 'price task / 1k in / 1k out', value: o => `${o.prices.perTask} / ${o.prices.per1kPromptTokens} / ${o.prices.per1kCompletionTokens}` },
        { header: 'expires', value: o => new Date(o.expiresAt).toISOString() }
      ], opts)
    })

  offers.command('show <id>')
    .description('one offer, whole')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printOffer(await clientFor(opts.dataDir).offer(id), opts)
    })

  offers.command('local')
    .description('this node\'s own offer')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printOffer(await clientFor(opts.dataDir).localOffer(), opts)
    })

  withYes(offers.command('withdraw')
    .description('withdraw this node\'s offer from the network (tombstone) until `agora offers announce`'))
    .action(async (flags: { yes?: boolean }, cmd: Command) => {
      const opts = globalOptions(cmd)
      await confirm('withdraw this node\'s offer from the network (until `agora offers announce`)', flags)
      const result = await clientFor(opts.dataDir).withdraw()
      if (opts.format === 'table') say(result.offerId === null ? 'nothing to withdraw' : `withdrew offer ${result.offerId}`, opts)
      else printRecord(result, opts)
    })

  offers.command('announce')
    .description('announce this node\'s offer now (also after a withdraw)')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printOffer(await clientFor(opts.dataDir).announce(), opts)
    })

  const models = program.command('models').description('models served on the network')
  models.command('list').alias('ls')
    .description('every model on the network: how many nodes serve it, best price and latency')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printList(await clientFor(opts.dataDir).models(), [
        { header: 'model', value: m => m.name },
        { header: 'kind', value: m => m.kind },
        { header: 'nodes', value: m => m.nodes },
        { header: 'best price', value: m => m.bestPrice },
        { header: 'best latency', value: m => m.bestLatencyMs === null ? '-' : `${m.bestLatencyMs.toFixed(1)} ms` }
      ], opts)
    })
}

function printOffer (offer: Offer, opts: GlobalOptions): void {
  printRecord(offer, opts, undefined, {
    offer: offer.id,
    node: offer.node,
    models: offer.models.map(m => `${m.name} (${m.provider}, ${m.contextLength} ctx)`),
    'task types': offer.taskTypes,
    tags: offer.tags,
    capacity: `${offer.capacity.slotsIdle} of ${offer.capacity.slotsTotal} slots idle`,
    prices: `${offer.prices.perTask} per task, ${offer.prices.per1kPromptTokens} per 1k prompt, ${offer.prices.per1kCompletionTokens} per 1k completion (${offer.prices.currency})`,
    zone: offer.zone === '' ? '-' : offer.zone,
    'trust mode': offer.trustMode,
    lamport: offer.lamport,
    expires: new Date(offer.expiresAt).toISOString()
  })
}
