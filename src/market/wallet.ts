/**
 * Read views over the books: the wallet, each peer's side of the pair, the
 * balance view sent to a peer, and the comparison of two such views
 * (`agora wallet reconcile`).
 */
import { formatCredits, parseCredits, type Micro } from './amount.ts'
import { payable, PAYABLE_PREFIX, receivable, RECEIVABLE_PREFIX, type Ledger } from './ledger/index.ts'
import { balanceView } from './payments/index.ts'
import type { CreditPolicy } from './contracts/credit.ts'
import type { LimitsRepository } from './contracts/limits.ts'
import type { Payee, Payer } from './payments/index.ts'
import type { SentVoids } from './payments/voids-sent.ts'
import type { BalanceViewWire } from './protocol/schema.ts'
import type { BalanceView, PeerBalance, Wallet } from './types.ts'

export interface WalletBooks {
  ledger: Pick<Ledger, 'balance' | 'accounts' | 'summary'>
  payer: Pick<Payer, 'lastSent' | 'state' | 'payees'>
  payee: Pick<Payee, 'last' | 'unpaid' | 'voided'>
  voids: Pick<SentVoids, 'voided'>
  credit: Pick<CreditPolicy, 'limit'>
  limits: Pick<LimitsRepository, 'peers'>
}

export function walletOf (books: WalletBooks): Wallet {
  const { grant, available, held, earned, spent, balance } = books.ledger.summary()
  const peers = new Set<string>(books.limits.peers())
  for (const [account] of books.ledger.accounts(PAYABLE_PREFIX)) peers.add(account.slice(PAYABLE_PREFIX.length))
  for (const [account] of books.ledger.accounts(RECEIVABLE_PREFIX)) peers.add(account.slice(RECEIVABLE_PREFIX.length))
  for (const payee of books.payer.payees()) peers.add(payee)
  return { balance, available, held, earned, spent, grant, peers: [...peers].sort().map(peer => peerBalanceOf(books, peer)) }
}

export function peerBalanceOf (books: WalletBooks, peer: string): PeerBalance {
  const owedToUs = books.ledger.balance(receivable(peer))
  const owedByUs = 0 - books.ledger.balance(payable(peer))
  const { limit, source } = books.credit.limit(peer)
  const state = books.payer.state(peer)
  return {
    peer,
    receivable: owedToUs,
    payable: owedByUs,
    net: owedToUs - owedByUs,
    limit,
    limitSource: source,
    unpaid: books.payee.unpaid(peer),
    unproven: state.unlistedAmount + (state.outstanding?.amount ?? 0),
    voided: books.payee.voided(peer),
    voidedByUs: books.voids.voided(peer)
  }
}

export function localView (books: WalletBooks, peer: string): BalanceView {
  return balanceView(books, peer)
}

export function viewToWire (view: BalanceView): BalanceViewWire {
  return {
    peer: view.peer,
    receivable: formatCredits(view.receivable),
    payable: formatCredits(view.payable),
    sent: { nonce: view.sent.nonce, cumulative: formatCredits(view.sent.cumulative) },
    received: { nonce: view.received.nonce, cumulative: formatCredits(view.received.cumulative) },
    voided: { sent: formatCredits(view.voided.sent), received: formatCredits(view.voided.received) }
  }
}

export function viewFromWire (wire: BalanceViewWire): BalanceView {
  return {
    peer: wire.peer,
    receivable: parseCredits(wire.receivable),
    payable: parseCredits(wire.payable),
    sent: { nonce: wire.sent.nonce, cumulative: parseCredits(wire.sent.cumulative) },
    received: { nonce: wire.received.nonce, cumulative: parseCredits(wire.received.cumulative) },
    voided: { sent: parseCredits(wire.voided?.sent ?? '0.000000'), received: parseCredits(wire.voided?.received ?? '0.000000') }
  }
}

/**
 * Where our view of the pair and the peer's differ, in words. They mirror
 * each other once traffic stops: our receivable is its payable once its
 * proofs reached us (until then the gap is receipts it captured and has not
 * proven), and the proofs it sent are those we accepted.
 */
export function differences (local: BalanceView, remote: BalanceView, peer: string): string[] {
  const out: string[] = []
  const gap = (a: Micro, b: Micro): string => formatCredits(Math.abs(a - b))
  if (local.receivable !== remote.payable) {
    out.push(`we book ${formatCredits(local.receivable)} receivable from ${peer}; it books ${formatCredits(remote.payable)} payable to us ` +
      `(${gap(local.receivable, remote.payable)} apart${remote.payable > local.receivable ? ': receipts it captured that no proof of its has reached us yet' : ''})`)
  }
  if (local.payable !== remote.receivable) {
    out.push(`we book ${formatCredits(local.payable)} payable to ${peer}; it books ${formatCredits(remote.receivable)} receivable from us ` +
      `(${gap(local.payable, remote.receivable)} apart${local.payable > remote.receivable ? ': receipts we captured that no proof of ours has reached it yet' : ''})`)
  }
  if (local.sent.nonce !== remote.received.nonce || local.sent.cumulative !== remote.received.cumulative) {
    out.push(`our last proof to ${peer} is #${local.sent.nonce} (${formatCredits(local.sent.cumulative)}); it accepted #${remote.received.nonce} (${formatCredits(remote.received.cumulative)})`)
  }
  if (local.received.nonce !== remote.sent.nonce || local.received.cumulative !== remote.sent.cumulative) {
    out.push(`its last proof to us is #${remote.sent.nonce} (${formatCredits(remote.sent.cumulative)}); we accepted #${local.received.nonce} (${formatCredits(local.received.cumulative)})`)
  }
  if (local.voided.sent !== remote.voided.received) {
    out.push(`we voided ${formatCredits(local.voided.sent)} of ${peer}'s receipts; it booked ${formatCredits(remote.voided.received)} voided (a VOID not delivered yet, or a node before VOIDs)`)
  }
  if (local.voided.received !== remote.voided.sent) {
    out.push(`${peer} voided ${formatCredits(remote.voided.sent)} of our receipts; we booked ${formatCredits(local.voided.received)} voided (a VOID not delivered yet)`)
  }
  return out
}
