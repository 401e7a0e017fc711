/**
 * The inference gateway's cost, each figure against a baseline measured in
 * the same run (medians; these machines are noisy). Everything measured is
 * its own OS process, as in real use — nodes A and B are daemons, the
 * upstream engine, the minimal Node proxy and nginx are child processes —
 * so nothing shares an event loop with the client that times it; requests
 * to the baseline and to each proxy are interleaved, so drift in the
 * machine's load hits all of them alike.
 * - added latency of node A's /v1 over calling the upstream directly (small,
 *   non-streaming chat), next to a minimal Node reverse proxy and, where
 *   installed, nginx — bar: no worse than 1.5× nginx's added latency; plus
 *   each proxy's CPU per request (all threads, from /proc), and the two
 *   floors under any Node proxy: a raw TCP pipe (Node moving bytes, no
 *   HTTP) and a hand-rolled HTTP proxy (the least JS HTTP handling of JSON);
 * - added latency of A → B over a warm libp2p stream vs calling B's upstream
 *   directly — bar: p50 ≤ 2 ms;
 * - time-to-first-token overhead of a streamed answer through A → B, and
 *   sustained streamed chunks/s;
 * - requests/s at 32 concurrent clients through A → B, and the RSS of A and B.
 */
import { request, Agent, type IncomingMessage } from 'node:http'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { median, percentile, report, round, type BenchRow } from './lib.ts'
import { processCpuMs, processRssMiB, processTree, startHandRolledProxy, startNginx, startNodeProxy, startTcpPipe, startUpstreams, type Child } from './processes.ts'
import { killDaemons, startDaemon, type Daemon } from '../test/harness/cli.ts'
import { waitFor } from '../test/harness/wait.ts'
import { ControlClient } from '../src/client/index.ts'

const N = Number(process.env.BENCH_REQUESTS ?? 1000)
const CHUNKS = 5000
const agent = new Agent({ keepAlive: true, maxSockets: 64 })
const body = (model: string, stream = false): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) })

/** One POST; resolves to [ms to the first body byte, ms to the end]. */
function post (url: string, payload: string): Promise<[number, number]> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res: IncomingMessage) => {
      let first = 0
      let text = ''
      res.on('data', (chunk: Buffer) => {
        if (first === 0) first = performance.now() - start
        if (res.statusCode !== 200) text += chunk.toString()
      })
      res.on('end', () => {
        if (res.statusCode === 200) resolve([first, performance.now() - start])
        else reject(new Error(`HTTP ${res.statusCode} from ${url}: ${text.slice(0, 300)}`))
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

interface Target {
  name: string
  url: string
  payload: string
  /** Processes whose CPU is charged to this target (none for the baseline). */
  pids?: number[]
}

interface Sampled {
  /** End-to-end ms per request. */
  times: number[]
  /** CPU of the target's process per request, µs (NaN without a pid). */
  cpuUs: number
}

/** `n` rounds, each one request to every target in turn (after a warm-up); per target its times and its processes' CPU per request. */
async function interleaved (targets: Target[], n: number): Promise<Map<string, Sampled>> {
  for (let i = 0; i < 200; i++) for (const t of targets) await post(t.url, t.payload)
  const cpuMs = (t: Target): number => (t.pids ?? []).reduce((sum, pid) => sum + processCpuMs(pid), 0)
  const times = new Map(targets.map(t => [t.name, [] as number[]]))
  const cpu = new Map(targets.map(t => [t.name, 0]))
  for (let i = 0; i < n; i++) {
    for (const t of targets) {
      // CPU read just around the target's own request (outside its timing): clock ticks, unbiased over many requests
      const before = cpuMs(t)
      times.get(t.name)?.push((await post(t.url, t.payload))[1])
      cpu.set(t.name, (cpu.get(t.name) ?? 0) + cpuMs(t) - before)
    }
  }
  return new Map(targets.map(t => [t.name, { times: times.get(t.name) ?? [], cpuUs: t.pids === undefined ? Number.NaN : (cpu.get(t.name) ?? 0) * 1000 / n }]))
}

async function addProvider (daemon: Daemon, name: string, url: string): Promise<void> {
  const token = readFileSync(join(daemon.dataDir, 'api.token'), 'utf8').trim()
  await new ControlClient({ url: daemon.url, token }).addProvider({ name, kind: 'openai', url })
}

/** Whether `daemon`'s /v1/models lists `model` owned by `owner`. */
async function listsModel (daemon: Daemon, model: string, owner: string): Promise<boolean> {
  const response = await fetch(`${daemon.url}/v1/models`)
  const list = await response.json() as { data: Array<{ id: string, owned_by: string }> }
  return list.data.some(m => m.id === model && m.owned_by === owner)
}

const DAEMON_ENV = { AGORA_LOG_LEVEL: 'error', AGORA_NETWORK_DHT_ENABLED: 'false', AGORA_OFFERS_REANNOUNCE_MS: '5000' }
const rows: BenchRow[] = []
const children: Array<Pick<Child, 'close'>> = []
try {
  const upstreams = await startUpstreams([['bench-chat']], 0)
  children.push(upstreams)
  const long = await startUpstreams([['bench-long']], 0, Array.from({ length: CHUNKS }, (_, i) => ` w${i}`))
  children.push(long)
  const [upstream = '', longUpstream = ''] = [upstreams.urls[0], long.urls[0]]
  const a = await startDaemon([], undefined, DAEMON_ENV)
  const b = await startDaemon(['--bootstrap', a.address], undefined, {
    ...DAEMON_ENV, AGORA_ACCESS_TRUST_MODE: 'public', AGORA_ACCESS_REQUESTS_PER_MINUTE: '1000000', AGORA_ACCESS_TOKENS_PER_MINUTE: '100000000'
  })
  await addProvider(a, 'up', upstream)
  await addProvider(b, 'up', upstream)
  await addProvider(b, 'long', longUpstream)
  await waitFor('A to list B\'s models', async () => await listsModel(a, 'bench-chat', b.peerId) && await listsModel(a, 'bench-long', b.peerId), { timeoutMs: 30_000 })
  const proxy = await startNodeProxy(upstream)
  children.push(proxy)
  const pipe = await startTcpPipe(upstream)
  children.push(pipe)
  const handRolled = await startHandRolledProxy(upstream)
  children.push(handRolled)
  const nginx = await startNginx(upstream)
  if (nginx !== undefined) children.push(nginx)

  // 1. added latency of the gateway (local route) vs a Node proxy and nginx
  const chat = '/v1/chat/completions'
  const local = await interleaved([
    { name: 'direct', url: `${upstream}${chat}`, payload: body('bench-chat') },
    { name: 'gateway', url: `${a.url}${chat}`, payload: body('bench-chat@local'), pids: [a.pid] },
    { name: 'node', url: `${proxy.url}${chat}`, payload: body('bench-chat'), pids: [proxy.pid] },
    { name: 'pipe', url: `${pipe.url}${chat}`, payload: body('bench-chat'), pids: [pipe.pid] },
    { name: 'hand-rolled', url: `${handRolled.url}${chat}`, payload: body('bench-chat'), pids: [handRolled.pid] },
    ...(nginx === undefined ? [] : [{ name: 'nginx', url: `${nginx.url}${chat}`, payload: body('bench-chat'), pids: processTree(nginx.pid) }])
  ], N)
  const direct = median(local.get('direct')?.times ?? [])
  const added = (name: string, p = 50): number => (percentile(local.get(name)?.times ?? [], p) - direct) * 1000
  const cpu = (name: string): string => `${round(local.get(name)?.cpuUs ?? Number.NaN, 0)} µs CPU per request`
  rows.push({ metric: 'gateway added latency (local route), p50', value: added('gateway'), unit: 'µs', target: 'info', pass: true, detail: `p99 ${round(added('gateway', 99), 0)} µs; ${cpu('gateway')}; direct upstream p50 ${round(direct * 1000, 0)} µs` })
  const versusNginx = (name: string): string => nginx === undefined ? '' : `; ${round(added(name) / added('nginx'))} x nginx`
  rows.push({ metric: 'minimal Node proxy added latency, p50', value: added('node'), unit: 'µs', target: 'baseline', pass: true, detail: `p99 ${round(added('node', 99), 0)} µs; ${cpu('node')}${versusNginx('node')}` })
  rows.push({ metric: 'floor: hand-rolled HTTP proxy, p50', value: added('hand-rolled'), unit: 'µs', target: 'baseline', pass: true, detail: `no validation, routing, access or metering; ${cpu('hand-rolled')}${versusNginx('hand-rolled')}` })
  rows.push({ metric: 'floor: Node TCP pipe (no HTTP), p50', value: added('pipe'), unit: 'µs', target: 'baseline', pass: true, detail: `${cpu('pipe')}${versusNginx('pipe')}` })
  if (nginx !== undefined) {
    rows.push({ metric: 'nginx added latency, p50', value: added('nginx'), unit: 'µs', target: 'baseline', pass: true, detail: `p99 ${round(added('nginx', 99), 0)} µs; ${cpu('nginx')}` })
    const ratio = added('gateway') / added('nginx')
    rows.push({ metric: 'gateway / nginx added latency', value: ratio, unit: 'x', target: '<= 1.5', pass: ratio <= 1.5, detail: `gateway / minimal Node proxy: ${round(added('gateway') / added('node'))} x` })
  }

  // 2. A → B over a warm libp2p stream vs B's upstream directly
  const remote = await interleaved([
    { name: 'direct', url: `${upstream}${chat}`, payload: body('bench-chat') },
    { name: 'ab', url: `${a.url}${chat}`, payload: body(`bench-chat@${b.peerId}`) }
  ], N)
  const remoteDirect = median(remote.get('direct')?.times ?? [])
  const ab = remote.get('ab')?.times ?? []
  const addedAB = median(ab) - remoteDirect
  rows.push({ metric: 'A → B added latency over libp2p, p50', value: addedAB, unit: 'ms', target: '<= 2', pass: addedAB <= 2, detail: `p99 ${round(percentile(ab, 99) - remoteDirect)} ms` })

  // 3. streaming: time to first token overhead, sustained chunks/s
  const ttftDirect: number[] = []
  const ttftAB: number[] = []
  for (let i = 0; i < 200; i++) {
    ttftDirect.push((await post(`${upstream}${chat}`, body('bench-chat', true)))[0])
    ttftAB.push((await post(`${a.url}${chat}`, body(`bench-chat@${b.peerId}`, true)))[0])
  }
  rows.push({ metric: 'streaming first-token overhead A → B, p50', value: median(ttftAB) - median(ttftDirect), unit: 'ms', target: 'info', pass: true, detail: `direct ${round(median(ttftDirect))} ms, via A → B ${round(median(ttftAB))} ms` })
  const longDirect: number[] = []
  const longAB: number[] = []
  for (let i = 0; i < 3; i++) {
    longDirect.push((await post(`${longUpstream}${chat}`, body('bench-long', true)))[1])
    longAB.push((await post(`${a.url}${chat}`, body(`bench-long@${b.peerId}`, true)))[1])
  }
  rows.push({ metric: 'sustained streamed chunks/s A → B', value: CHUNKS / (median(longAB) / 1000), unit: 'chunks/s', target: 'info', pass: true, detail: `direct ${round(CHUNKS / (median(longDirect) / 1000), 0)} chunks/s; ${CHUNKS} chunks per answer, median of 3` })

  // 4. 32 concurrent clients through A → B
  const CONCURRENCY = 32
  const PER_CLIENT = Math.max(10, Math.floor(N / 8))
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = 0; i < PER_CLIENT; i++) await post(`${a.url}${chat}`, body(`bench-chat@${b.peerId}`))
  }))
  const rps = (CONCURRENCY * PER_CLIENT) / ((performance.now() - started) / 1000)
  rows.push({ metric: 'requests/s, 32 concurrent clients, A → B', value: rps, unit: 'req/s', target: 'info', pass: true, detail: `${CONCURRENCY * PER_CLIENT} requests; A, B, the upstream and the clients share 2 cores` })
  rows.push({ metric: 'RSS of A and of B after the concurrent run', value: processRssMiB(a.pid), unit: 'MiB', target: 'info', pass: true, detail: `B ${round(processRssMiB(b.pid), 0)} MiB` })
} finally {
  for (const child of children) child.close()
  await killDaemons()
  agent.destroy()
}
report('gateway', rows)
