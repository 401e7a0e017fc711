/** The node's log destination: a full disk costs log lines, never the node. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSync } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createLogger, logDestination } from '../../src/observability/logger.ts'
import { LogRing } from '../../src/observability/log-ring.ts'

test('writes failing with ENOSPC (/dev/full) are no unhandled error, and what waits for the disk is bounded', async () => {
  const fd = openSync('/dev/full', 'w')
  const destination = logDestination(fd) as unknown as NodeJS.EventEmitter & { _len: number, maxLength: number, destroy: () => void }
  // no 'error' listener of our own here: an unhandled one would fail this test
  let dropped = 0
  destination.on('drop', () => { dropped++ })
  const log = createLogger({ destination: destination as never }).forComponent('agora:test')
  const line = 'x'.repeat(64 * 1024)
  // 32 MiB of lines against a disk that takes nothing: the process lives on (an unhandled 'error' would fail this test)
  for (let i = 0; i < 512; i++) {
    log.info({ line }, 'filling')
    if (i % 64 === 0) await nextTurn()
  }
  await nextTurn()
  assert.ok(dropped > 0, 'lines beyond the bound were dropped: nothing got through to the full disk')
  assert.ok(destination._len <= destination.maxLength, `${destination._len} bytes waiting, at most ${destination.maxLength}`)
  destination.destroy()
})

test('the recent lines: bounded by count and bytes, filtered by level, followed as they come', () => {
  const ring = new LogRing({ maxLines: 3, maxBytes: 200 })
  const record = (level: number, msg: string): string => JSON.stringify({ level, time: 1, msg }) + '\n'
  for (const [level, msg] of [[30, 'a'], [20, 'b'], [50, 'c'], [30, 'd']] as const) ring.write(record(level, msg))
  const msgs = (lines: { text: string }[]): string[] => lines.map(l => (JSON.parse(l.text) as { msg: string }).msg)
  assert.deepEqual(msgs(ring.tail(10)), ['b', 'c', 'd'], 'three lines kept, oldest first')
  assert.deepEqual(msgs(ring.tail(10, 30)), ['c', 'd'], 'info and above')
  assert.deepEqual(msgs(ring.tail(1)), ['d'])
  ring.write(record(30, 'x'.repeat(150)))
  assert.equal(ring.tail(10).length, 1, 'a long line pushes out older ones past the byte bound')
  ring.write(record(30, 'y'.repeat(300)))
  assert.equal(ring.tail(10).length, 1, 'a line larger than the whole ring is not kept')
  const seen: number[] = []
  const stop = ring.follow(line => { seen.push(line.level) })
  ring.write(record(40, 'e'))
  stop()
  ring.write(record(40, 'f'))
  assert.deepEqual(seen, [40])
})

test('the logger keeps its recent lines whatever its destination, at the level it logs', () => {
  const sink = { write: (_: string): void => {} }
  const logger = createLogger({ destination: sink as never, level: 'info' })
  logger.forComponent('agora:test').debug('not logged')
  logger.forComponent('agora:test').info('logged')
  assert.deepEqual(logger.recent.tail(10).map(l => (JSON.parse(l.text) as { msg: string, component: string }).msg), ['logged'])
  logger.root.level = 'debug'
  logger.forComponent('agora:test').debug('now logged')
  assert.equal(logger.recent.tail(10).length, 2)
})
