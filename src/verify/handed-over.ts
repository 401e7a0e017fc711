/**
 * What a catch-up page (sync.ts) hands over — a DECIDE or a FINALIZE —
 * checked as the gossip path checks it: the kind, the payload's schema, the
 * thread's own decider, the signature. Not the age window, the Lamport order
 * or the replay guard: it is old news by design, and taking it twice
 * changes nothing (the book and the FINALIZE are idempotent).
 */
import { verifySignatureOnly, type Envelope } from '../identity/index.ts'
import type { Decision } from './decisions.ts'
import { VERIFY_SCHEMAS, type VerifyPayload } from './messages.ts'

/** The kinds a catch-up carries. */
export const SYNCED_KINDS: ReadonlySet<string> = new Set(['DECIDE', 'FINALIZE'])

export type HandedOver =
  | { kind: 'DECIDE', decision: Decision }
  | { kind: 'FINALIZE', decider: string, payload: VerifyPayload<'FINALIZE'> }

/**
 * The message `envelope` carries, or undefined when it does not check out:
 * another kind, a malformed payload, a signer that may not decide the
 * thread (`mayDecide`; anyone when absent), a bad signature.
 */
export function checkHandedOver (envelope: Envelope, mayDecide?: (thread: string, decider: string) => boolean): HandedOver | undefined {
  const handed = read(envelope)
  if (handed === undefined) return undefined
  const thread = handed.kind === 'DECIDE' ? handed.decision.thread : handed.payload.thread
  if (mayDecide?.(thread, envelope.from) === false) return undefined
  try {
    verifySignatureOnly(envelope)
  } catch {
    return undefined
  }
  return handed
}

function read (envelope: Envelope): HandedOver | undefined {
  if (envelope.kind === 'DECIDE') {
    const parsed = VERIFY_SCHEMAS.DECIDE.safeParse(envelope.payload)
    if (!parsed.success) return undefined
    const p = parsed.data
    return { kind: 'DECIDE', decision: { thread: p.thread, epoch: p.epoch, lamport: p.lamport, decider: envelope.from, result: p.result } }
  }
  if (envelope.kind === 'FINALIZE') {
    const parsed = VERIFY_SCHEMAS.FINALIZE.safeParse(envelope.payload)
    return parsed.success ? { kind: 'FINALIZE', decider: envelope.from, payload: parsed.data } : undefined
  }
  return undefined
}
