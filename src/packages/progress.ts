/**
 * Progress of one publish or install, thinned for listeners: at most
 * `perSecond` reports, plus every change of phase (the last one, `done`,
 * always gets through). Importing a 64 GiB model would otherwise emit
 * 65,536 events.
 */
import type { TransferProgress } from './types.ts'

export const PROGRESS_PER_SECOND = 4

export function throttleProgress (
  emit: (progress: TransferProgress) => void,
  perSecond = PROGRESS_PER_SECOND,
  now: () => number = Date.now
): (progress: TransferProgress) => void {
  const gapMs = 1000 / perSecond
  let lastAt = -Infinity
  let lastPhase: TransferProgress['phase'] | undefined
  return progress => {
    const at = now()
    if (progress.phase === lastPhase && at - lastAt < gapMs) return
    lastAt = at
    lastPhase = progress.phase
    emit(progress)
  }
}
