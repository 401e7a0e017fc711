/**
 * SIGKILL at an arbitrary moment loses nothing acknowledged: a child writes
 * and acknowledges rows; we kill it mid-stream, reopen the store and find
 * every acknowledged row.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openStore } from '../../src/store/index.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'

const WRITER = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'store-writer.ts')

for (const killAfter of [1, 250, 1500]) {
  test(`SIGKILL after ${killAfter}+ acknowledged writes loses none of them`, async () => {
    const dir = tempDir()
    try {
      const file = join(dir, 'agora.db')
      const child = spawn(process.execPath, [WRITER, file], { stdio: ['ignore', 'pipe', 'inherit'] })
      let lastAck = -1
      let buffered = ''
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) lastAck = Number(line.slice(4))
      })
      await waitFor(`${killAfter} acks`, () => lastAck >= killAfter, { timeoutMs: 30_000 })
      child.kill('SIGKILL')
      await new Promise(resolve => child.once('close', resolve))
      const acknowledged = lastAck
      const store = openStore(file)
      try {
        for (let n = 0; n <= acknowledged; n++) {
          assert.deepEqual(store.kv.get<{ n: number }>(`row-${n}`)?.n, n, `row ${n} of ${acknowledged} acknowledged`)
        }
        // the child may commit a few more after the last ack we read: at least the acknowledged ones
        for (let n = 0; n <= Math.min(49, acknowledged); n++) assert.ok(store.peers.get(`peer-${n}`), `peer-${n}`)
      } finally {
        store.close()
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
}
