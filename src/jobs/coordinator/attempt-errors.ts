/** How an attempt's error reads: the router's outcome for it, and the coordinator's own failures. */
import { AgoraError, isAgoraError, messageOf } from '../../errors.ts'
import { DISPATCH_ERROR_CODES } from '../protocol/types.ts'
import type { AttemptOutcome } from '../types.ts'

export function outcomeOf (error: AgoraError): AttemptOutcome {
  switch (error.code) {
    case DISPATCH_ERROR_CODES.refused:
    case 'E206': return 'refused' // the worker's engine rate-limited us: busy, not broken
    case DISPATCH_ERROR_CODES.acceptTimeout:
    case DISPATCH_ERROR_CODES.firstProgressTimeout:
    case DISPATCH_ERROR_CODES.totalTimeout:
    case 'E204': return 'timeout'
    case DISPATCH_ERROR_CODES.malformed:
    case 'E205': return 'invalid'
    default: return 'failure'
  }
}

/** A failure of the coordinator itself (store, binding an input), not of any worker. */
export function internalError (jobId: string, err: unknown): AgoraError {
  return isAgoraError(err, 'E1067') ? err : new AgoraError('E1067', `job ${jobId} failed in the coordinator`, { why: messageOf(err), cause: err })
}
