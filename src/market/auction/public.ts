/** Needs and proposals as the API and the CLI show them (amounts in micro-credits; the JSON layer formats them). */
import type { NeedRecord, ProposalRecord } from './repository.ts'
import type { RankedProposal } from './score.ts'

export type { NeedState } from './repository.ts'
export type Need = Omit<NeedRecord, 'envelope'>
export type Proposal = Omit<ProposalRecord, 'envelope'> & { score: number }

export function publicNeed (record: NeedRecord): Need {
  const { envelope: _envelope, ...need } = record
  return need
}

export function publicProposal (record: RankedProposal): Proposal {
  const { envelope: _envelope, ...proposal } = record
  return proposal
}
