/**
 * Following a job: events drive the progress, a poll fills gaps, polling
 * alone works when the event stream is missing or drops; and how progress
 * looks (bar, ETA, plain lines off a terminal).
 */
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { watchJob, type JobEventStream } from '../../../src/cli/job-watch.ts'
import { renderProgress, EtaEstimator, JobProgressView, formatSize } from '../../../src/cli/progress.ts'
import { shortPeer, jobFailure } from '../../../src/cli/jobs-format.ts'
import { AgoraError } from '../../../src/errors.ts'
import type { EventMessage } from '../../../src/client/schemas.ts'
import type { JobState } from '../../../src/jobs/types.ts'
import type { JobJson } from '../../../src/client/schemas.ts'

function job (state: JobState, committed: number, total = 4): JobJson {
  return {
    id: 'job-1', type: 'text.embed', params: {}, constraints: { redundancy: 1 }, input: { kind: 'text', text: 'x' }, state,
    progress: { total, committed, running: 0, failed: 0 }, spent: '0.000000', createdAt: 1, updatedAt: 1, finishedAt: null, error: null, hasResult: false
  }
}

/** A scripted event stream: hands out queued events; E204 when empty; E601 once closed by the "server". */
class ScriptedStream implements JobEventStream {
  readonly queue: EventMessage[] = []
  dropped = false
  closed = false
  async waitFor (_match: (event: EventMessage) => boolean, timeoutMs = 10_000): Promise<EventMessage> {
    const next = this.queue.shift()
    if (next !== undefined) return next
    if (this.dropped) throw new AgoraError('E601', 'the event stream closed before the awaited event')
    await new Promise(resolve => setTimeout(resolve, Math.min(timeoutMs, 5)))
    throw new AgoraError('E204', `no matching event within ${timeoutMs} ms`)
  }

  close (): void { this.closed = true }
}

const event = (type: string, data: Record<string, unknown>): EventMessage => ({ type, at: Date.now(), data })

describe('watchJob', () => {
  test('job:progress events update the counts without polling; the end event fetches the final job', async () => {
    const stream = new ScriptedStream()
    stream.queue.push(
      event('peer:latency', { peerId: 'x', latencyMs: 1 }),
      event('job:progress', { jobId: 'other', type: 't', state: 'running', total: 9, committed: 9, running: 0, failed: 0 }),
      event('job:progress', { jobId: 'job-1', type: 't', state: 'running', total: 4, committed: 2, running: 2, failed: 0 }),
      event('job:progress', { jobId: 'job-1', type: 't', state: 'running', total: 4, committed: 4, running: 0, failed: 0 }),
      event('job:completed', { jobId: 'job-1', type: 't', state: 'completed' })
    )
    const fetched: JobState[] = []
    const states = [job('running', 0), job('completed', 4)]
    const seen: string[] = []
    const final = await watchJob('job-1', {
      fetch: async () => { const next = states.shift() as JobJson; fetched.push(next.state); return next },
      openEvents: async () => stream,
      onUpdate: j => seen.push(`${j.state} ${j.progress.committed}/${j.progress.total}`),
      pollMs: 60_000
    })
    assert.equal(final.state, 'completed')
    assert.deepEqual(fetched, ['running', 'completed'], 'fetched once at the start and once at the end')
    assert.deepEqual(seen, ['running 0/4', 'running 2/4', 'running 4/4', 'completed 4/4'])
    assert.ok(stream.closed)
  })

  test('without events it polls until the job is finished', async () => {
    const states = [job('planned', 0), job('running', 1), job('running', 3), job('failed', 3)]
    const final = await watchJob('job-1', {
      fetch: async () => states.shift() as JobJson,
      openEvents: async () => { throw new AgoraError('E601', 'cannot open the event stream') },
      onUpdate: () => {},
      pollMs: 5
    })
    assert.equal(final.state, 'failed')
    assert.equal(states.length, 0)
  })

  test('a quiet stream still polls; a dropped stream falls back to polling', async () => {
    const stream = new ScriptedStream()
    let fetches = 0
    const final = await watchJob('job-1', {
      fetch: async () => {
        fetches++
        if (fetches === 2) stream.dropped = true
        return fetches < 4 ? job('running', fetches) : job('completed', 4)
      },
      openEvents: async () => stream,
      onUpdate: () => {},
      pollMs: 10
    })
    assert.equal(final.state, 'completed')
    assert.equal(fetches, 4)
    assert.ok(stream.closed)
  })

  test('an aborted watch returns the last state seen; a finished job returns at once', async () => {
    const controller = new AbortController()
    const running = await watchJob('job-1', {
      fetch: async () => { controller.abort(); return job('running', 1) },
      onUpdate: () => {},
      signal: controller.signal,
      pollMs: 5
    })
    assert.equal(running.state, 'running')
    let fetches = 0
    const done = await watchJob('job-1', { fetch: async () => { fetches++; return job('cancelled', 1) }, onUpdate: () => {} })
    assert.equal(done.state, 'cancelled')
    assert.equal(fetches, 1)
  })
})

describe('progress display', () => {
  test('the bar shows done/total, percent, running, failed and ETA', () => {
    assert.equal(renderProgress({ done: 0, total: 100 }, undefined), `[${'░'.repeat(24)}] 0/100 0% · ETA --`)
    assert.equal(renderProgress({ done: 50, total: 100, running: 4, failed: 1 }, 12_000, { unicode: false }), `[${'#'.repeat(12)}${'-'.repeat(12)}] 50/100 50% · 4 running · 1 failed · ETA 12s`)
    assert.equal(renderProgress({ done: 7, total: 7 }, 0), `[${'█'.repeat(24)}] 7/7 100%`, 'no ETA once done')
    assert.equal(renderProgress({ done: 0, total: 0 }, undefined), `[${'░'.repeat(24)}] 0/0 0%`)
  })

  test('upload sizes', () => {
    assert.deepEqual([formatSize(512), formatSize(3500), formatSize(12 * 1048576)], ['512 B', '3.4 KiB', '12.0 MiB'])
  })

  test('the ETA follows the rate since the first observation', () => {
    let now = 0
    const eta = new EtaEstimator(() => now)
    assert.equal(eta.estimate(10, 110), undefined)
    now = 1000
    assert.equal(eta.estimate(10, 110), undefined, 'nothing moved yet')
    now = 2000
    assert.equal(eta.estimate(30, 110), 8000, '20 done in 2 s, 80 left')
  })

  test('a TTY gets one line redrawn; elsewhere a plain line per change', () => {
    const tty = { isTTY: true, columns: 0, out: '', write (text: string) { this.out += text } } // a pty that reports no width
    const view = new JobProgressView(tty)
    view.update(job('running', 1))
    view.update(job('running', 2))
    view.end()
    assert.equal(tty.out.split('\r\x1b[2K').length, 3)
    assert.match(tty.out, /job-1 running \[.*\] 2\/4 50%/)
    assert.ok(tty.out.endsWith('\n'))

    const pipe = { isTTY: false, out: '', write (text: string) { this.out += text } }
    const plain = new JobProgressView(pipe)
    plain.update(job('running', 1))
    plain.update(job('running', 1))
    plain.update(job('completed', 4))
    plain.end()
    assert.equal(pipe.out, 'job-1: running, 1/4 subtasks done\njob-1: completed, 4/4 subtasks done\n')
  })

  test('short peer ids and the error of a job that did not complete', () => {
    assert.equal(shortPeer('12D3KooWAbCdEfGhIjKlMnOpQrStUvWx'), '…QrStUvWx')
    assert.equal(shortPeer('local'), 'local')
    assert.equal(shortPeer(null), '-')
    const failed = { ...job('failed', 2), error: { code: 'E1065', message: 'subtask embed-0003 failed on every worker tried' } }
    const err = jobFailure(failed)
    assert.equal(err.code, 'E1065')
    assert.match(err.format(), /job job-1 failed: subtask embed-0003 failed/)
    assert.equal(jobFailure(job('cancelled', 1)).code, 'E1086')
  })
})
