/** The shared abort helpers (src/abort.ts). */
import { test, describe, mock } from 'node:test'
import assert from 'node:assert/strict'
import { childController, raceAbort, timeoutChild } from '../../src/abort.ts'

describe('childController', () => {
  test('aborts with the parent, with the parent\'s reason', () => {
    const parent = new AbortController()
    const { controller } = childController(parent.signal)
    const reason = new Error('client gone')
    parent.abort(reason)
    assert.equal(controller.signal.aborted, true)
    assert.equal(controller.signal.reason, reason)
  })

  test('aborting the child leaves the parent alone', () => {
    const parent = new AbortController()
    const { controller } = childController(parent.signal)
    controller.abort(new Error('this attempt failed'))
    assert.equal(parent.signal.aborted, false)
  })

  test('a child of an aborted parent starts aborted', () => {
    const reason = new Error('too late')
    const { controller } = childController(AbortSignal.abort(reason))
    assert.equal(controller.signal.reason, reason)
  })

  test('after release the parent\'s abort no longer reaches the child', () => {
    const parent = new AbortController()
    const { controller, release } = childController(parent.signal)
    release()
    parent.abort()
    assert.equal(controller.signal.aborted, false)
  })
})

describe('timeoutChild', () => {
  test('aborts after its time with a TimeoutError, or with the parent\'s reason first', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const timed = timeoutChild(new AbortController().signal, 100)
      mock.timers.tick(99)
      assert.equal(timed.signal.aborted, false)
      mock.timers.tick(1)
      assert.equal((timed.signal.reason as DOMException).name, 'TimeoutError')
      const parent = new AbortController()
      const followed = timeoutChild(parent.signal, 100)
      parent.abort(new Error('caller left'))
      assert.equal((followed.signal.reason as Error).message, 'caller left')
    } finally {
      mock.timers.reset()
    }
  })

  test('release clears the timer and stops following the parent', () => {
    mock.timers.enable({ apis: ['setTimeout'] })
    try {
      const parent = new AbortController()
      const done = timeoutChild(parent.signal, 100)
      done.release()
      mock.timers.tick(1000)
      parent.abort()
      assert.equal(done.signal.aborted, false)
    } finally {
      mock.timers.reset()
    }
  })
})

describe('raceAbort', () => {
  test('rejects with the signal\'s reason while the promise is still pending', async () => {
    const controller = new AbortController()
    const pending = raceAbort(new Promise(() => {}), controller.signal)
    controller.abort(new Error('stop'))
    await assert.rejects(pending, /stop/)
  })

  test('settles with the promise when it comes first', async () => {
    assert.equal(await raceAbort(Promise.resolve(7), new AbortController().signal), 7)
  })
})
