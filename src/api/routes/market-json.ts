/** The market's objects as the control API sends them: amounts as six-decimal strings (src/client/market-schemas.ts). */
import { formatCredits } from '../../market/amount.ts'
import type { BalanceView, Contract, PeerBalance, Wallet, WalletEntry } from '../../market/types.ts'
import type { BalanceViewJson, ContractJson, PeerBalanceJson, WalletEntryJson, WalletJson } from '../../client/market-schemas.ts'

export function peerBalanceJson (p: PeerBalance): PeerBalanceJson {
  return {
    peer: p.peer,
    receivable: formatCredits(p.receivable),
    payable: formatCredits(p.payable),
    net: formatCredits(p.net),
    limit: formatCredits(p.limit),
    limitSource: p.limitSource,
    unpaid: formatCredits(p.unpaid),
    unproven: formatCredits(p.unproven),
    voided: formatCredits(p.voided),
    voidedByUs: formatCredits(p.voidedByUs)
  }
}

export function walletJson (w: Wallet): WalletJson {
  return {
    balance: formatCredits(w.balance),
    available: formatCredits(w.available),
    held: formatCredits(w.held),
    earned: formatCredits(w.earned),
    spent: formatCredits(w.spent),
    grant: formatCredits(w.grant),
    peers: w.peers.map(peerBalanceJson)
  }
}

export function walletEntryJson (e: WalletEntry): WalletEntryJson {
  return { ...e, amount: formatCredits(e.amount), balance: formatCredits(e.balance) }
}

export function contractJson (c: Contract): ContractJson {
  return { ...c, unitPrice: formatCredits(c.unitPrice), maxTotal: formatCredits(c.maxTotal), captured: formatCredits(c.captured) }
}

export function balanceViewJson (v: BalanceView): BalanceViewJson {
  return {
    peer: v.peer,
    receivable: formatCredits(v.receivable),
    payable: formatCredits(v.payable),
    sent: { nonce: v.sent.nonce, cumulative: formatCredits(v.sent.cumulative) },
    received: { nonce: v.received.nonce, cumulative: formatCredits(v.received.cumulative) },
    voided: { sent: formatCredits(v.voided.sent), received: formatCredits(v.voided.received) }
  }
}
