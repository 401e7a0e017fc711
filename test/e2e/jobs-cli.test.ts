/**
 * `agora jobs` end to end against a real daemon: a file uploaded in chunks
 * and chunked by the embedded engine (`--wait`), its result, the list, the
 * types, a cancel, and the errors a user meets (exit codes and messages).
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { agora, killDaemons, runAgora, startDaemon } from '../harness/cli.ts'
import { longDocument } from '../harness/jobs.ts'
import { tempDir } from '../harness/temp.ts'

const dir = tempDir()

after(async () => {
  await killDaemons()
  rmSync(dir, { recursive: true, force: true })
})

test('jobs through the CLI: submit --file --wait, result, list, types, cancel, bad input', async () => {
  const daemon = await startDaemon([], undefined, {
    AGORA_JOBS_DEBUG_TASKS: 'true',
    AGORA_JOBS_MAX_CPU_LOAD: '0',
    AGORA_JOBS_MIN_FREE_MEMORY_MB: '0',
    // the shared embeddings cache of the test run: no conversion in this daemon
    AGORA_PROVIDERS_WINK_CACHE_DIR: join(tmpdir(), 'agora-test-models')
  })
  const file = join(dir, 'doc.txt')
  const text = longDocument(60_000, 3)
  writeFileSync(file, text)
  const cli = async (...args: string[]): Promise<string> => await agora([...args, '--data-dir', daemon.dataDir])

  const job = JSON.parse(await cli('jobs', 'submit', '--type', 'text.chunk', '--file', file, '--param', 'chunkChars=2000', '--wait', '--json')) as { id: string, state: string }
  assert.equal(job.state, 'completed')
  const result = JSON.parse(await cli('jobs', 'result', job.id, '--json')) as { result: { chunks: Array<{ start: number, end: number }> } }
  const chunks = result.result.chunks
  assert.ok(chunks.length >= 30, `${chunks.length} chunks`)
  assert.equal(chunks[0]?.start, 0)
  assert.equal(chunks.at(-1)?.end, text.length)
  assert.ok(chunks.every(c => c.end - c.start <= 2000))

  const listed = JSON.parse(await cli('jobs', 'list', '--json')) as Array<{ id: string }>
  assert.ok(listed.some(j => j.id === job.id))
  const types = await cli('jobs', 'types')
  for (const type of ['text.embed', 'summarize', 'debug.sleep']) assert.ok(types.includes(type), type)

  const sleeping = JSON.parse(await cli('jobs', 'submit', '--type', 'debug.sleep', '--param', 'count=3', '--param', 'ms=60000', '--json')) as { id: string }
  const cancelled = JSON.parse(await cli('jobs', 'cancel', sleeping.id, '--yes', '--json')) as { state: string }
  assert.equal(cancelled.state, 'cancelled')

  const unknown = await runAgora(['jobs', 'submit', '--type', 'text.translate', '--text', 'hi', '--data-dir', daemon.dataDir])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /Error \[E1000\]: unknown job type "text\.translate" \(known: .*text\.embed/)
  const badParam = await runAgora(['jobs', 'submit', '--type', 'text.chunk', '--text', 'hi', '--param', 'chunkChars=-5', '--data-dir', daemon.dataDir])
  assert.equal(badParam.code, 1)
  assert.match(badParam.stderr, /Error \[E1001\]: .*chunkChars/)
  const missing = await runAgora(['jobs', 'show', 'job-nope', '--data-dir', daemon.dataDir])
  assert.equal(missing.code, 1)
  assert.match(missing.stderr, /Error \[E1060\]/)
})
