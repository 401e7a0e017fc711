/**
 * A CHALLENGE (docs/verification.md, "Challenges"): a coordinator whose
 * replicas outvoted a worker gossips the evidence, so that every node can
 * check it without trusting the challenger and lower the worker too. The
 * evidence is signatures only: the accused's RECEIPT for the subtask (it
 * signed that its result has `resultHash`) and at least two RECEIPTs of
 * other workers — not the challenger — for replicas of the same subtask
 * (`<key>#r<n>`), all made for the challenger, every one with
 * `expectedHash`. So only exact (deterministic) results are challenged:
 * honest similarity results differ in hash. A challenge that does not check out (E1216) lowers the
 * challenger instead. Limit: it trusts a majority of signers — two workers
 * colluding with a coordinator could frame a third; re-running the task
 * is the stronger check, left to nodes that can.
 */
import { z } from 'zod'
import { AgoraError, messageOf } from '../errors.ts'
import { parseEnvelope, verifySignatureOnly, type Envelope } from '../identity/index.ts'
import type { VerifyPayload } from './messages.ts'

/** The fields of a task RECEIPT a challenge is checked on (the rest is the jobs room's). */
const receiptFacts = z.object({
  key: z.string().min(1).max(512),
  worker: z.string().min(1).max(128),
  coordinator: z.string().min(1).max(128),
  resultHash: z.string().regex(/^[0-9a-f]{64}$/)
}).passthrough()

/** Fewest replicas that make a majority against the accused (two against one). */
export const MIN_CHALLENGE_REPLICAS = 2

export interface CheckedChallenge {
  /** The worker the evidence convicts. */
  accused: string
  /** The subtask key its receipt was for. */
  key: string
}

/** Check a CHALLENGE from `challenger`; the convicted worker, or E1216 naming what does not check out. */
export function checkChallenge (challenger: string, p: VerifyPayload<'CHALLENGE'>): CheckedChallenge {
  const accused = receiptOf(p.receipt, 'the accused\'s receipt')
  if (accused.facts.coordinator !== challenger) throw refused('the accused\'s receipt was made for another coordinator', challenger)
  if (accused.facts.resultHash !== p.evidence.resultHash) throw refused('the accused\'s receipt is for another result', challenger)
  if (p.evidence.replicas.length < MIN_CHALLENGE_REPLICAS) throw refused(`${p.evidence.replicas.length} replica receipts; a majority needs ${MIN_CHALLENGE_REPLICAS}`, challenger)
  const signers = new Set<string>([accused.signer])
  p.evidence.replicas.forEach((envelope, i) => {
    const replica = receiptOf(envelope, `replica receipt ${i + 1}`)
    if (replica.signer === challenger) throw refused(`replica receipt ${i + 1} is the challenger's own`, challenger)
    if (signers.has(replica.signer)) throw refused(`replica receipt ${i + 1} is signed by ${replica.signer} again`, challenger)
    signers.add(replica.signer)
    if (replica.facts.coordinator !== challenger) throw refused(`replica receipt ${i + 1} was made for another coordinator`, challenger)
    if (!new RegExp(`^${escape(accused.facts.key)}#r\\d+$`).test(replica.facts.key)) throw refused(`replica receipt ${i + 1} is not for a replica of ${accused.facts.key}`, challenger)
    // exact results only: every replica signed the very hash the accused did not
    if (replica.facts.resultHash !== p.evidence.expectedHash || replica.facts.resultHash === accused.facts.resultHash) throw refused(`replica receipt ${i + 1} is not for the expected result`, challenger)
  })
  return { accused: accused.signer, key: accused.facts.key }
}

function receiptOf (value: unknown, what: string): { signer: string, facts: z.infer<typeof receiptFacts> } {
  let envelope: Envelope
  try {
    envelope = verifySignatureOnly(parseEnvelope(value))
  } catch (err) {
    throw new AgoraError('E1216', `challenge evidence: ${what} does not verify`, { why: messageOf(err), cause: err })
  }
  if (envelope.kind !== 'RECEIPT') throw new AgoraError('E1216', `challenge evidence: ${what} is a ${envelope.kind}, not a RECEIPT`)
  const facts = receiptFacts.safeParse(envelope.payload)
  if (!facts.success || facts.data.worker !== envelope.from) throw new AgoraError('E1216', `challenge evidence: ${what} is not a task receipt of its signer`)
  return { signer: envelope.from, facts: facts.data }
}

function refused (why: string, challenger: string): AgoraError {
  return new AgoraError('E1216', 'a challenge that does not check out', { why, details: { challenger } })
}

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
