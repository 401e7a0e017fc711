/**
 * The gateway from the terminal, as an operator meets it: a daemon, an engine
 * added with `agora providers add` (a real HTTP server speaking Ollama's
 * wire format), then `agora chat`, `agora embed`, `agora requests list` and
 * `agora access set` — real processes, real sockets.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { agora, killDaemons, runAgora, startDaemon } from '../harness/cli.ts'
import { startFakeOllama, type FakeEngine } from '../fixtures/fake-ollama.ts'
import { waitFor } from '../harness/wait.ts'

let engine: FakeEngine | undefined
after(async () => {
  await killDaemons()
  await engine?.close()
})

test('providers add → chat → embed → requests list → access set, through the CLI', async () => {
  engine = await startFakeOllama({ models: [{ name: 'tiny-chat', kind: 'chat' }], reply: ['Hi', ' there', '!'] })
  const node = await startDaemon()
  const dir = ['--data-dir', node.dataDir]

  const bad = await runAgora(['providers', 'add', 'Bad Name', '--kind', 'ollama', '--url', engine.url, ...dir])
  assert.equal(bad.code, 2, 'a usage error, refused before the node is asked')
  assert.match(bad.stderr, /Error \[E600\]: <name>: lower-case letters/)
  const added = JSON.parse(await agora(['providers', 'add', 'local-ollama', '--kind', 'ollama', '--url', engine.url, ...dir, '--json'])) as { name: string, models: string[] }
  assert.deepEqual(added.models, ['tiny-chat'])
  const listed = JSON.parse(await agora(['providers', 'list', ...dir, '--json'])) as Array<{ name: string }>
  assert.deepEqual(listed.map(p => p.name).sort(), ['local-ollama', 'wink'])

  const streamed = await runAgora(['chat', 'tiny-chat', 'Say hi', ...dir])
  assert.equal(streamed.code, 0, streamed.stderr)
  assert.equal(streamed.stdout, 'Hi there!\n')
  assert.match(streamed.stderr, /local/)

  const unknown = await runAgora(['chat', 'tiny-chatt', 'Say hi', ...dir])
  assert.equal(unknown.code, 1)
  assert.match(unknown.stderr, /Error \[E930\].*tiny-chat/)

  const embedded = JSON.parse(await agora(['embed', 'agora/wink-embed-100d', 'a quiet morning by the sea', ...dir, '--json'])) as { dimensions: number, embedding: number[] }
  assert.equal(embedded.dimensions, 100)
  assert.ok(Math.abs(Math.hypot(...embedded.embedding) - 1) < 1e-4)

  const requests = JSON.parse(await agora(['requests', 'list', ...dir, '--json'])) as Array<{ model: string, outcome: string, server: string }>
  assert.ok(requests.some(r => r.model === 'tiny-chat' && r.outcome === 'ok' && r.server === 'local'))
  assert.ok(requests.some(r => r.model === 'agora/wink-embed-100d' && r.outcome === 'ok'))

  assert.deepEqual(JSON.parse(await agora(['access', 'set', 'public', ...dir, '--json'])), { trustMode: 'public' })
  assert.deepEqual(JSON.parse(await agora(['access', 'show', ...dir, '--json'])), { trustMode: 'public' })
  // the offer advertises the new mode too
  await waitFor('the offer to say public', async () => (JSON.parse(await agora(['offers', 'local', ...dir, '--json'])) as { trustMode: string }).trustMode === 'public', { timeoutMs: 10_000, intervalMs: 200 })
  await agora(['providers', 'remove', 'local-ollama', ...dir])
  const after = JSON.parse(await agora(['providers', 'list', ...dir, '--json'])) as Array<{ name: string }>
  assert.deepEqual(after.map(p => p.name), ['wink'])
})
