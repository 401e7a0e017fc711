/** NamedDeadlines: phase and total clocks, and pausing both while a call waits on our own account. */
import { describe, test, mock, beforeEach, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { AgoraError } from '../../src/errors.ts'
import { NamedDeadlines } from '../../src/deadlines.ts'

type Phase = 'first' | 'idle'

function deadlines (totalMs: number, caller?: AbortSignal): NamedDeadlines<Phase> {
  return new NamedDeadlines<Phase>({
    totalMs,
    phaseMs: phase => phase === 'first' ? 50 : 20,
    timeout: (which, ms) => new AgoraError('E204', `${which} after ${ms} ms`),
    cancelled: () => new AgoraError('E1050', 'cancelled'),
    failed: () => new AgoraError('E202', 'failed')
  }, caller)
}

const reason = (d: NamedDeadlines<Phase>): string => (d.signal.reason as AgoraError).what

describe('NamedDeadlines', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'] }) })
  afterEach(() => { mock.timers.reset() })

  test('a phase timer fires with its own name; re-arming replaces it', () => {
    const d = deadlines(1000)
    d.arm('first')
    mock.timers.tick(40)
    d.arm('idle')
    mock.timers.tick(19)
    assert.equal(d.signal.aborted, false)
    mock.timers.tick(1)
    assert.equal(reason(d), 'idle after 20 ms')
  })

  test('pausing stops both clocks; resuming restarts the total with the time that was left', () => {
    const d = deadlines(100)
    mock.timers.tick(60)
    d.arm('first')
    const resume = d.pause()
    mock.timers.tick(10_000)
    assert.equal(d.signal.aborted, false, 'neither the phase nor the total ran while paused')
    resume()
    mock.timers.tick(39)
    assert.equal(d.signal.aborted, false)
    mock.timers.tick(1)
    assert.equal(reason(d), 'total after 100 ms')
  })

  test('the caller can still cancel while the clocks are paused', () => {
    const caller = new AbortController()
    const d = deadlines(100, caller.signal)
    d.pause()
    caller.abort()
    assert.equal(reason(d), 'cancelled')
  })

  test('resuming after clear() starts no clock', () => {
    const d = deadlines(100)
    const resume = d.pause()
    d.clear()
    resume()
    mock.timers.tick(1000)
    assert.equal(d.signal.aborted, false)
  })
})
