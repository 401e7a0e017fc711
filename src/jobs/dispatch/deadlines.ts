/**
 * The named timeouts of one dispatch attempt, each aborting it with its own
 * code: accept (E1041: no accepted/refused frame in time, dialling
 * included), progress (E1042: accepted, then silent for too long — the
 * worker's heartbeats keep a long subtask alive), total (E1043); and the
 * caller's cancellation (its AgoraError reason, or E1050). The mechanics
 * are src/deadlines.ts.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import { NamedDeadlines } from '../../deadlines.ts'
import type { DispatchTimeouts } from '../protocol/types.ts'

export type DispatchPhase = 'accept' | 'progress'

export class DispatchDeadlines extends NamedDeadlines<DispatchPhase> {
  constructor (timeouts: DispatchTimeouts, details: Record<string, unknown>, caller?: AbortSignal) {
    const worker = String(details.worker)
    const key = String(details.key)
    super({
      totalMs: timeouts.totalMs,
      phaseMs: phase => phase === 'accept' ? timeouts.acceptMs : timeouts.firstProgressMs,
      timeout: (which, ms) => {
        const more = { details: { ...details, timeout: which === 'progress' ? 'firstProgress' : which, timeoutMs: ms } }
        switch (which) {
          case 'accept': return new AgoraError('E1041', `${worker} did not accept or refuse subtask ${key} in time`, { why: `no answer within ${ms} ms (accept)`, ...more })
          case 'progress': return new AgoraError('E1042', `${worker} reported nothing on subtask ${key} in time`, { why: `no progress or result for ${ms} ms (progress)`, ...more })
          case 'total': return new AgoraError('E1043', `subtask ${key} took too long on ${worker}`, { why: `not complete within ${ms} ms (total)`, ...more })
        }
      },
      cancelled: reason => new AgoraError('E1050', `subtask ${key} on ${worker} was cancelled`, { why: 'cancelled by the coordinator', cause: reason, details }),
      failed: err => new AgoraError('E202', `dispatching to ${worker} failed`, { why: messageOf(err), cause: err, details })
    }, caller)
  }
}
