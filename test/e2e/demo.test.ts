/**
 * `agora demo` as a new user runs it: the real CLI starts three real
 * detached nodes in a temp folder, chats with agora/echo (served by the echo
 * node, not the gateway), embeds with the embedded engine and runs a small
 * job on the worker; the printed lines work as written; `agora demo --stop`
 * leaves no process and no folder. The OS temp dir of every run is the
 * test's own (TMPDIR), so a user's demo is never touched.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { agora, runAgora } from '../harness/cli.ts'
import { tempDir } from '../harness/temp.ts'
import { waitFor } from '../harness/wait.ts'
import { isAlive } from '../../src/client/index.ts'
import { DEMO_INPUTS, type DemoState } from '../../src/demo/index.ts'
import { ECHO_LABEL } from '../../src/providers/index.ts'

const tmp = tempDir('agora-demo-test-')
const demoDir = join(tmp, `agora-demo-${process.getuid?.() ?? ''}`)
// the shared embeddings cache of the test run: no conversion in the demo's nodes
const env = { TMPDIR: tmp, AGORA_PROVIDERS_WINK_CACHE_DIR: join(tmpdir(), 'agora-test-models') }
let started: DemoState | undefined

/** Pids of the processes whose command line names the demo folder (its nodes name their data dirs there). */
function demoProcesses (dir = demoDir): number[] {
  return readdirSync('/proc').filter(p => /^\d+$/.test(p)).filter(pid => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)
    } catch {
      return false
    }
  }).map(Number)
}

after(async () => {
  // a failed run leaves nothing behind either
  if (existsSync(join(demoDir, 'demo.json'))) await runAgora(['demo', '--stop'], { env, timeoutMs: 60_000 })
  for (const node of started?.nodes ?? []) if (isAlive(node.pid)) process.kill(node.pid, 'SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

test('agora demo: a chat served by the echo node, an embedding, a job on the worker; the printed lines work; --stop cleans up', async () => {
  const run = await runAgora(['demo'], { env, timeoutMs: 180_000 })
  assert.equal(run.code, 0, `stdout: ${run.stdout}\nstderr: ${run.stderr}`)
  const state = JSON.parse(readFileSync(join(demoDir, 'demo.json'), 'utf8')) as DemoState
  started = state
  assert.deepEqual(state.nodes.map(n => [n.name, n.role]), [['node-1', 'gateway'], ['node-2', 'echo'], ['node-3', 'worker']])
  for (const node of state.nodes) assert.ok(isAlive(node.pid), `${node.name} keeps running`)
  assert.deepEqual(demoProcesses().sort(), state.nodes.map(n => n.pid).sort(), 'the three nodes, nothing else')
  const [gateway, echo] = state.nodes as [DemoState['nodes'][number], DemoState['nodes'][number]]
  const out = run.stdout

  // each step says what served it
  assert.ok(out.includes(`“${ECHO_LABEL} ${DEMO_INPUTS.chat}”`), out)
  assert.match(out, new RegExp(`chat +agora/echo asked at node-1, served by node-2 \\(${echo.peerId.slice(0, 12)}…`))
  assert.match(out, /embedding +agora\/wink-embed-100d asked at node-1, served by node-\d: 100 dimensions/)
  assert.match(out, /job +text\.embed job-\S+ completed: [2-9] subtask\(s\) run by node-3, [2-9] chunks × 100 dimensions/)
  assert.ok(out.includes(`OpenAI API   ${gateway.apiUrl}/v1`))
  assert.ok(out.includes('Stop it: agora demo --stop'))

  // the printed lines run as written: the agora chat line, and the curl line's request
  const chatLine = out.split('\n').find(l => l.includes(' chat agora/echo "hi there"'))
  assert.ok(chatLine !== undefined, 'a ready-to-paste chat line')
  assert.ok(chatLine.includes(`--data-dir ${gateway.dataDir}`))
  const answer = await agora(['--data-dir', gateway.dataDir, 'chat', 'agora/echo', 'hi there'])
  assert.equal(answer, `${ECHO_LABEL} hi there\n`)
  const curlBody = /-d '(\{.*\})'/.exec(out)?.[1]
  assert.ok(curlBody !== undefined, 'a curl line')
  const res = await fetch(`${gateway.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: curlBody })
  assert.equal(res.status, 200, 'loopback needs no key')
  assert.equal(res.headers.get('x-agora-server'), echo.peerId, 'served by the echo node')
  const completion = await res.json() as { choices: Array<{ message: { content: string } }>, usage: { completion_tokens: number } }
  assert.equal(completion.choices[0]?.message.content, `${ECHO_LABEL} hi`)
  assert.ok(completion.usage.completion_tokens > 0)

  // one demo at a time
  const again = await runAgora(['demo'], { env })
  assert.equal(again.code, 1)
  assert.match(again.stderr, /Error \[E1301\]: a demo swarm is running already — 3 node\(s\) in .* — stop it with `agora demo --stop`/)
  for (const node of state.nodes) assert.ok(isAlive(node.pid), `${node.name} untouched by the refused demo`)

  const stopped = JSON.parse(await agora(['demo', '--stop', '--json'], { env, timeoutMs: 60_000 })) as { nodes: Array<{ name: string, outcome: string }>, removed: string }
  assert.deepEqual(stopped.nodes.map(n => [n.name, n.outcome]), [['node-1', 'stopped'], ['node-2', 'stopped'], ['node-3', 'stopped']])
  assert.equal(stopped.removed, demoDir)
  for (const node of state.nodes) await waitFor(`${node.name} to be gone`, () => !isAlive(node.pid), { timeoutMs: 5000 })
  assert.equal(existsSync(demoDir), false, 'the demo folder is removed')
  assert.deepEqual(demoProcesses(), [], 'no process of the demo is left')

  const none = await runAgora(['demo', '--stop'], { env })
  assert.equal(none.code, 1)
  assert.match(none.stderr, /Error \[E1303\]: no demo swarm is running/)
})

test('agora demo: a node that cannot start is named with its log; nothing is left running', async () => {
  // a temp dir of its own: whatever the first test left cannot interfere
  const own = join(tmp, 'failing')
  mkdirSync(own)
  const ownDemo = join(own, `agora-demo-${process.getuid?.() ?? ''}`)
  // an address no interface has: the first node's API cannot listen
  const run = await runAgora(['demo'], { env: { ...env, TMPDIR: own, AGORA_API_HOST: '192.0.2.1' }, timeoutMs: 120_000 })
  assert.equal(run.code, 1)
  const kept = `${ownDemo}-node-1.log`
  assert.match(run.stderr, /Error \[E1302\]: demo node-1 \(gateway\) did not start — .*EADDRNOTAVAIL/)
  assert.ok(run.stderr.includes(`see its log, kept as ${kept}`), run.stderr)
  assert.match(readFileSync(kept, 'utf8'), /EADDRNOTAVAIL/)
  assert.equal(existsSync(ownDemo), false, 'the demo folder is removed')
  assert.deepEqual(demoProcesses(ownDemo), [], 'no process of the demo is left')
})
