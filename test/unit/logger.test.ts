/** The node's log destination: a full disk costs log lines, never the node. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { openSync } from 'node:fs'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { createLogger, logDestination } from '../../src/observability/logger.ts'

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
