/**
 * The named timeouts of one remote inference call, each aborting the call
 * with its own code: dial (E910), first token (E911), idle between tokens
 * (E912), total (E913); and the caller's cancellation (E914, or the
 * caller's own AgoraError). The mechanics are src/deadlines.ts.
 */
import { AgoraError, messageOf } from '../../errors.ts'
import { NamedDeadlines } from '../../deadlines.ts'
import type { RemoteTimeouts } from './constants.ts'

export type Phase = 'dial' | 'first' | 'idle'

export class Deadlines extends NamedDeadlines<Phase> {
  constructor (timeouts: RemoteTimeouts, details: Record<string, unknown>, caller?: AbortSignal) {
    const peer = String(details.peer)
    super({
      totalMs: timeouts.totalMs,
      phaseMs: phase => phase === 'dial' ? timeouts.dialMs : phase === 'first' ? timeouts.firstTokenMs : timeouts.idleMs,
      timeout: (which, ms) => {
        const more = { details: { ...details, timeout: which, timeoutMs: ms } }
        switch (which) {
          case 'dial': return new AgoraError('E910', `cannot reach ${peer} in time`, { why: `no connection within ${ms} ms (dial)`, ...more })
          case 'first': return new AgoraError('E911', `${peer} produced no first token in time`, { why: `no answer within ${ms} ms (first token)`, ...more })
          case 'idle': return new AgoraError('E912', `${peer} went silent`, { why: `no token for ${ms} ms (idle)`, ...more })
          case 'total': return new AgoraError('E913', `the request to ${peer} took too long`, { why: `not complete within ${ms} ms (total)`, ...more })
        }
      },
      cancelled: reason => new AgoraError('E914', `the request to ${peer} was cancelled`, { why: 'cancelled by the caller', cause: reason, details }),
      failed: err => new AgoraError('E202', `the request to ${peer} failed`, { why: messageOf(err), cause: err, details })
    }, caller)
  }
}
