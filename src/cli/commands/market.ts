/**
 * `agora wallet show|history|limits|reconcile` and `agora market
 * request|contracts|pending|accept|reject|cancel` (docs/market.md); the
 * auction's `need|needs|proposals|decide|withdraw` are in needs.ts. Amounts
 * come and go as credits with six decimals; values the node would refuse are
 * refused here first, naming the flag (E600, exit 2).
 */
import type { Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { clientFor } from '../../client/index.ts'
import type { ContractJson, PeerBalanceJson } from '../../client/market-schemas.ts'
import { globalOptions, type GlobalOptions } from '../context.ts'
import { creditsFlag, parseDuration } from '../jobs-args.ts'
import { printList, printRecord, say } from '../output.ts'
import { registerNeedCommands } from './needs.ts'

const REJECT_REASONS = ['capacity', 'price', 'credit-limit', 'trust', 'expired', 'declined', 'unknown-offer']

export function registerMarketCommands (program: Command): void {
  registerWalletCommands(program)
  const market = program.command('market').description('direct requests against peers\' offers, auctions (needs and proposals), and the contracts they make')
  registerNeedCommands(market)

  market.command('request <offerId>')
    .description('ask a peer to sell against its offer; waits for its ACCEPT (the hold is placed) or REJECT')
    .requiredOption('--quantity <n>', 'units wanted (tasks, or thousands of tokens)')
    .requiredOption('--max-price <credits>', 'the most you pay per unit')
    .option('--what <model-or-task>', 'the model or task type to buy (needed when the offer serves more than one)')
    .option('--expires <duration>', 'how long the request and its contract stay valid, e.g. 10m (default market.requestTtlMs)')
    .action(async (offerId: string, flags: { quantity: string, maxPrice: string, what?: string, expires?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const expiresInMs = flags.expires === undefined ? undefined : parseDuration(flags.expires.trim())
      if (flags.expires !== undefined && expiresInMs === undefined) throw new AgoraError('E600', `--expires takes a duration, not '${flags.expires}'`, { hint: 'e.g. --expires 30s, 10m, 2h' })
      const { checkFlags } = await import('../check-flags.ts')
      const { marketRequestBody } = await import('../../client/market-schemas.ts')
      const body = {
        offerId,
        quantity: Number(flags.quantity),
        maxUnitPrice: await creditsFlag('--max-price', flags.maxPrice),
        ...(flags.what === undefined ? {} : { what: flags.what }),
        ...(expiresInMs === undefined ? {} : { expiresInMs })
      }
      checkFlags(marketRequestBody, body, { quantity: '--quantity', maxUnitPrice: '--max-price', what: '--what', expiresInMs: '--expires', offerId: 'offerId' }, 'market request')
      // the seller may queue it for its operator: wait up to the request's own expiry
      const client = clientFor(opts.dataDir, { timeoutMs: (expiresInMs ?? 10 * 60_000) + 30_000 })
      printContract(await client.marketRequest(body), opts)
    })

  market.command('contracts')
    .description('contracts this node is buyer or seller of, newest first')
    .option('--state <state>', 'only contracts in this state (proposed, accepted, rejected, settled, refunded, expired, cancelled)')
    .option('--role <role>', 'only those where this node is the buyer or the seller')
    .option('--limit <n>', 'at most this many')
    .action(async (flags: { state?: string, role?: string, limit?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { checkFlags } = await import('../check-flags.ts')
      const { contractsQuery } = await import('../../client/market-schemas.ts')
      const query = checkFlags(contractsQuery, { state: flags.state, role: flags.role, limit: flags.limit }, { state: '--state', role: '--role', limit: '--limit' }, 'market contracts')
      printContracts(await clientFor(opts.dataDir).contracts(query), opts)
    })

  market.command('pending')
    .description('requests waiting for this node\'s operator (market.acceptMode manual)')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printContracts(await clientFor(opts.dataDir).pending(), opts)
    })

  market.command('accept <contractId>')
    .description('accept a pending request: this node signs the quote')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printContract(await clientFor(opts.dataDir).acceptContract(id), opts)
    })

  market.command('reject <contractId>')
    .description('reject a pending request, with a reason')
    .option('--reason <reason>', `why: ${REJECT_REASONS.join(', ')}`, 'declined')
    .action(async (id: string, flags: { reason: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      if (!REJECT_REASONS.includes(flags.reason)) throw new AgoraError('E600', `--reason takes one of ${REJECT_REASONS.join(', ')}, not '${flags.reason}'`)
      printContract(await clientFor(opts.dataDir).rejectContract(id, flags.reason as 'declined'), opts)
    })

  market.command('cancel <contractId>')
    .description('end a contract this node bought early: what is left of its hold is released')
    .action(async (id: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      printContract(await clientFor(opts.dataDir).cancelContract(id), opts)
    })
}

function registerWalletCommands (program: Command): void {
  const wallet = program.command('wallet').description('this node\'s credits: balance, holds, what each peer owes and is owed')

  wallet.command('show', { isDefault: true })
    .description('balance, available, held, earned, spent, and the balance with each peer')
    .action(async (_flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const w = await clientFor(opts.dataDir).wallet()
      if (opts.format !== 'table') { printRecord(w, opts); return }
      printRecord(w, opts, undefined, { balance: w.balance, available: w.available, held: w.held, earned: w.earned, spent: w.spent, grant: w.grant })
      if (w.peers.length > 0) {
        say('', opts)
        printPeers(w.peers, opts)
      }
    })

  wallet.command('history')
    .description('ledger entries, newest first, with the balance after each')
    .option('--limit <n>', 'at most this many entries', '50')
    .option('--account <account>', 'only this account (available, spent, earned, held:<id>, payable:<peer>, …)')
    .action(async (flags: { limit: string, account?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const { checkFlags } = await import('../check-flags.ts')
      const { historyQuery } = await import('../../client/market-schemas.ts')
      const query = checkFlags(historyQuery, { limit: flags.limit, account: flags.account }, { limit: '--limit', account: '--account' }, 'wallet history')
      printList(await clientFor(opts.dataDir).walletHistory(query), [
        { header: 'posting', value: e => e.postingId },
        { header: 'time', value: e => new Date(e.at).toISOString() },
        { header: 'kind', value: e => e.kind },
        { header: 'account', value: e => e.account },
        { header: 'amount', value: e => e.amount },
        { header: 'balance after', value: e => e.balance },
        { header: 'for', value: e => e.ref }
      ], opts)
    })

  wallet.command('limits [peer] [credits]')
    .description('credit limits: list them, or set the one a peer gets (credits, or "default" to drop the override)')
    .action(async (peer: string | undefined, credits: string | undefined, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const client = clientFor(opts.dataDir)
      if (peer === undefined) { printPeers(await client.limits(), opts); return }
      if (credits === undefined) throw new AgoraError('E600', 'give the limit after the peer id', { hint: 'e.g. agora wallet limits 12D3KooW… 250, or … default' })
      const limit = credits === 'default' ? null : await creditsFlag('the limit', credits)
      printPeers([await client.setLimit(peer, limit)], opts)
    })

  wallet.command('reconcile <peer>')
    .description('this node\'s and the peer\'s books of the pair, side by side, and where they differ')
    .action(async (peer: string, _flags: unknown, cmd: Command) => {
      const opts = globalOptions(cmd)
      const result = await clientFor(opts.dataDir).reconcile(peer)
      if (opts.format !== 'table') { printRecord(result, opts); return }
      const { local, remote } = result
      printList([
        { what: 'owed to us / to them', ours: local.receivable, theirs: remote.payable },
        { what: 'owed by us / by them', ours: local.payable, theirs: remote.receivable },
        { what: 'last proof we sent / they accepted', ours: `#${local.sent.nonce} ${local.sent.cumulative}`, theirs: `#${remote.received.nonce} ${remote.received.cumulative}` },
        { what: 'last proof they sent / we accepted', ours: `#${local.received.nonce} ${local.received.cumulative}`, theirs: `#${remote.sent.nonce} ${remote.sent.cumulative}` },
        { what: 'voided by us / they booked', ours: local.voided.sent, theirs: remote.voided.received },
        { what: 'voided by them / we booked', ours: local.voided.received, theirs: remote.voided.sent }
      ], [{ header: '', value: r => r.what }, { header: 'this node', value: r => r.ours }, { header: peer.slice(-8), value: r => r.theirs }], opts)
      say(result.differences.length === 0 ? 'the two books agree' : `they differ:\n  ${result.differences.join('\n  ')}`, opts)
    })
}

function printPeers (peers: PeerBalanceJson[], opts: GlobalOptions): void {
  printList(peers, [
    { header: 'peer', value: p => p.peer },
    { header: 'owes us', value: p => p.receivable },
    { header: 'we owe', value: p => p.payable },
    { header: 'net', value: p => p.net },
    { header: 'unpaid', value: p => p.unpaid },
    { header: 'voided', value: p => p.voided },
    { header: 'limit', value: p => `${p.limit} (${p.limitSource})` }
  ], opts)
}

function printContracts (contracts: ContractJson[], opts: GlobalOptions): void {
  printList(contracts, [
    { header: 'contract', value: c => c.id },
    { header: 'role', value: c => c.role },
    { header: 'peer', value: c => c.role === 'buyer' ? c.seller : c.buyer },
    { header: 'what', value: c => c.what },
    { header: 'qty × price', value: c => `${c.quantity} × ${c.unitPrice}` },
    { header: 'captured / max', value: c => `${c.captured} / ${c.maxTotal}` },
    { header: 'state', value: c => c.reason === null ? c.state : `${c.state} (${c.reason})` },
    { header: 'expires', value: c => new Date(c.expiresAt).toISOString() }
  ], opts)
}

function printContract (c: ContractJson, opts: GlobalOptions): void {
  printRecord(c, opts, undefined, {
    contract: c.id,
    state: c.reason === null ? c.state : `${c.state} (${c.reason})`,
    role: c.role,
    buyer: c.buyer,
    seller: c.seller,
    offer: c.offerId,
    what: c.what,
    quantity: c.quantity,
    'unit price': c.unitPrice,
    'max total': c.maxTotal,
    captured: c.captured,
    expires: new Date(c.expiresAt).toISOString()
  })
}
