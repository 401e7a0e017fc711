/** The node-wide room for results fetched by reference: waits in order, caps, aborted waits leaving the line. */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { ResultFetchBudget } from '../../../src/jobs/dispatch/fetch-budget.ts'

const never = new AbortController().signal

/** Settles `promise` into a flag the test can read without awaiting it. */
function track<T> (promise: Promise<T>): { done: boolean, value?: T } {
  const state: { done: boolean, value?: T } = { done: false }
  void promise.then(value => { state.done = true; state.value = value }, () => { state.done = true })
  return state
}

describe('ResultFetchBudget', () => {
  test('grants up to its capacity at once; the next fetch waits until room is given back', async () => {
    const budget = new ResultFetchBudget(100)
    const first = await budget.reserve(60, never)
    const second = await budget.reserve(40, never)
    assert.equal(budget.reserved, 100)
    const third = track(budget.reserve(10, never))
    await nextTurn()
    assert.equal(third.done, false)
    assert.equal(budget.waiting, 1)
    second()
    await nextTurn()
    assert.equal(third.done, true)
    assert.equal(budget.reserved, 70)
    assert.equal(budget.waiting, 0)
    first()
    third.value?.()
    assert.equal(budget.reserved, 0)
  })

  test('waits are served in order of arrival: a small fetch does not overtake a large one', async () => {
    const budget = new ResultFetchBudget(100)
    const held = await budget.reserve(90, never)
    const large = track(budget.reserve(50, never))
    const small = track(budget.reserve(5, never))
    await nextTurn()
    assert.equal(small.done, false, 'the small fetch would fit, but the large one came first')
    held()
    await nextTurn()
    assert.deepEqual([large.done, small.done], [true, true])
    assert.equal(budget.reserved, 55)
  })

  test('a result larger than the whole budget waits for all of it, then takes all of it', async () => {
    const budget = new ResultFetchBudget(100)
    const held = await budget.reserve(1, never)
    const huge = track(budget.reserve(500, never))
    await nextTurn()
    assert.equal(huge.done, false)
    held()
    await nextTurn()
    assert.equal(huge.done, true)
    assert.equal(budget.reserved, 100)
  })

  test('an aborted wait rejects with the reason and takes no room', async () => {
    const budget = new ResultFetchBudget(100)
    const held = await budget.reserve(100, never)
    const controller = new AbortController()
    const waiting = budget.reserve(30, controller.signal)
    controller.abort(new Error('the attempt ended'))
    await assert.rejects(waiting, /the attempt ended/)
    assert.equal(budget.waiting, 0)
    held()
    assert.equal(budget.reserved, 0)
    assert.equal(await budget.reserve(100, never).then(release => { release(); return 'granted' }), 'granted')
  })

  test('a wait behind an aborted one is served as soon as it fits', async () => {
    const budget = new ResultFetchBudget(100)
    const held = await budget.reserve(90, never)
    const controller = new AbortController()
    const abandoned = budget.reserve(50, controller.signal)
    const small = track(budget.reserve(5, never))
    await nextTurn()
    assert.equal(small.done, false)
    assert.equal(budget.waiting, 2)
    controller.abort(new Error('cancelled'))
    await assert.rejects(abandoned, /cancelled/)
    await nextTurn()
    assert.equal(small.done, true, 'the aborted wait left the line, and 5 of the 10 free bytes fit')
    assert.equal(budget.reserved, 95)
    assert.equal(budget.waiting, 0)
    held()
    small.value?.()
    assert.equal(budget.reserved, 0)
  })

  test('an already aborted signal gets no room', async () => {
    const budget = new ResultFetchBudget(100)
    await assert.rejects(budget.reserve(10, AbortSignal.abort(new Error('too late'))), /too late/)
    assert.equal(budget.reserved, 0)
  })

  test('one worker holds at most a quarter of the budget (always one result); its waits step aside for other workers', async () => {
    const budget = new ResultFetchBudget(100)
    assert.equal(budget.share, 25)
    const first = await budget.reserve(20, never, 'slow-worker')
    const second = track(budget.reserve(20, never, 'slow-worker'))
    const other = track(budget.reserve(20, never, 'other-worker'))
    await nextTurn()
    assert.equal(second.done, false, '20 + 20 is over the worker\'s 25')
    assert.equal(other.done, true, 'another worker\'s wait behind it is served')
    first()
    await nextTurn()
    assert.equal(second.done, true)
    // a single result larger than the share is still taken, when the worker holds nothing
    const large = await budget.reserve(50, never, 'big-worker')
    assert.equal(budget.reserved, 20 + 20 + 50)
    large()
    second.value?.()
    other.value?.()
    assert.equal(budget.reserved, 0)
  })

  test('giving room back twice counts once', async () => {
    const budget = new ResultFetchBudget(100)
    const release = await budget.reserve(40, never)
    const other = await budget.reserve(60, never)
    release()
    release()
    assert.equal(budget.reserved, 60)
    other()
  })

  test('a budget must be a positive whole number of bytes', () => {
    assert.throws(() => new ResultFetchBudget(0), RangeError)
    assert.throws(() => new ResultFetchBudget(1.5), RangeError)
  })
})
