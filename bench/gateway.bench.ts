/**
 * The inference gateway's cost, each figure against a baseline measured in
 * the same run (medians; these machines are noisy):
 * - added latency of node A's /v1 over calling the upstream directly (small,
 *   non-streaming chat), next to a minimal Node reverse proxy and, where
 *   installed, nginx — bar: no worse than 1.5× nginx's added latency;
 * - added latency of A → B over a warm libp2p stream vs calling B's upstream
 *   directly — bar: p50 ≤ 2 ms;
 * - time-to-first-token overhead of a streamed answer through A → B, and
 *   sustained streamed chunks/s;
 * - requests/s at 32 concurrent clients through A → B, and RSS.
 * The upstream is the fake OpenAI-compatible engine of test/fixtures.
 */
import { request, createServer, Agent, type IncomingMessage } from 'node:http'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { median, percentile, report, round, type BenchRow } from './lib.ts'
import { TestSwarm, firstAddress, waitForPeers } from '../test/harness/nodes.ts'
import { waitFor } from '../test/harness/wait.ts'
import { startFakeOpenAI } from '../test/fixtures/fake-openai.ts'

const N = Number(process.env.BENCH_REQUESTS ?? 400)
const agent = new Agent({ keepAlive: true, maxSockets: 64 })
const body = (model: string, stream = false): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], stream, ...(stream ? { stream_options: { include_usage: true } } : {}) })

/** One POST; resolves to [ms to the first body byte, ms to the end]. */
function post (url: string, payload: string, headers: Record<string, string> = {}): Promise<[number, number]> {
  const start = performance.now()
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (res: IncomingMessage) => {
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

async function sample (url: string, payload: string, n = N, headers: Record<string, string> = {}): Promise<number[]> {
  for (let i = 0; i < 20; i++) await post(url, payload, headers) // warm-up
  const times: number[] = []
  for (let i = 0; i < n; i++) times.push((await post(url, payload, headers))[1])
  return times
}

/** A minimal Node reverse proxy: the cheapest thing a JS gateway could be. */
async function startNodeProxy (target: string): Promise<{ url: string, close: () => void }> {
  const upstream = new URL(target)
  const server = createServer((req, res) => {
    const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, up => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
    req.pipe(out)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => { server.close() } }
}

/** nginx as a reverse proxy, when installed (apt-get install nginx). */
async function startNginx (target: string): Promise<{ url: string, close: () => void } | undefined> {
  if (spawnSync('nginx', ['-v']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'agora-nginx-'))
  const port = 20000 + Math.floor(Math.random() * 20000)
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http { access_log off; upstream up { server ${new URL(target).host}; keepalive 32; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } } }`)
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  const url = `http://127.0.0.1:${port}`
  await waitFor('nginx to listen', () => new Promise<boolean>(resolve => {
    const req = request(`${url}/v1/models`, { agent }, res => { res.resume(); resolve(true) })
    req.on('error', () => resolve(false))
    req.end()
  }), { timeoutMs: 5000 })
  return { url, close: () => { child.kill(); rmSync(dir, { recursive: true, force: true }) } }
}

const upstream = await startFakeOpenAI({ models: [{ name: 'bench-chat', kind: 'chat' }], reply: ['ok'] })
const swarm = new TestSwarm()
const rows: BenchRow[] = []
try {
  const a = await swarm.add({ config: { log: { level: 'error' } } })
  const b = await swarm.add({ config: { log: { level: 'error' }, access: { trustMode: 'public', requestsPerMinute: 1_000_000, tokensPerMinute: 100_000_000 }, network: { bootstrap: [firstAddress(a)] } } })
  await a.components.providers.add({ name: 'up', kind: 'openai', url: upstream.url })
  await b.components.providers.add({ name: 'up', kind: 'openai', url: upstream.url })
  await waitForPeers(a, 1)
  await waitFor('A to see B\'s offer', () => a.components.gateway.models().some(m => m.ownedBy === b.peerId && m.id === 'bench-chat'), { timeoutMs: 15_000 })

  // 1. added latency of the gateway (local route) vs a Node proxy and nginx
  const direct = median(await sample(`${upstream.url}/v1/chat/completions`, body('bench-chat')))
  const viaA = await sample(`${a.apiUrl}/v1/chat/completions`, body('bench-chat@local'))
  const proxy = await startNodeProxy(upstream.url)
  const viaProxy = median(await sample(`${proxy.url}/v1/chat/completions`, body('bench-chat')))
  proxy.close()
  const nginx = await startNginx(upstream.url)
  const viaNginx = nginx === undefined ? undefined : median(await sample(`${nginx.url}/v1/chat/completions`, body('bench-chat')))
  nginx?.close()
  const addedA = median(viaA) - direct
  const addedNginx = viaNginx === undefined ? undefined : viaNginx - direct
  rows.push({ metric: 'gateway added latency (local route), p50', value: addedA * 1000, unit: 'µs', target: 'info', pass: true, detail: `p99 ${round((percentile(viaA, 99) - direct) * 1000)} µs; direct upstream p50 ${round(direct * 1000)} µs` })
  rows.push({ metric: 'minimal Node proxy added latency, p50', value: (viaProxy - direct) * 1000, unit: 'µs', target: 'baseline', pass: true })
  if (addedNginx !== undefined) {
    rows.push({ metric: 'nginx added latency, p50', value: addedNginx * 1000, unit: 'µs', target: 'baseline', pass: true })
    rows.push({ metric: 'gateway / nginx added latency', value: addedA / addedNginx, unit: 'x', target: '<= 1.5', pass: addedA / addedNginx <= 1.5, detail: `gateway / Node proxy: ${round(addedA / (viaProxy - direct))} x` })
  }

  // 2. A → B over a warm libp2p stream vs B's upstream directly
  const viaAB = await sample(`${a.apiUrl}/v1/chat/completions`, body(`bench-chat@${b.peerId}`))
  const addedAB = median(viaAB) - direct
  rows.push({ metric: 'A → B added latency over libp2p, p50', value: addedAB, unit: 'ms', target: '<= 2', pass: addedAB <= 2, detail: `p99 ${round(percentile(viaAB, 99) - direct)} ms` })

  // 3. streaming: time to first token overhead, sustained chunks/s
  const ttftDirect: number[] = []
  const ttftAB: number[] = []
  for (let i = 0; i < 100; i++) {
    ttftDirect.push((await post(`${upstream.url}/v1/chat/completions`, body('bench-chat', true)))[0])
    ttftAB.push((await post(`${a.apiUrl}/v1/chat/completions`, body(`bench-chat@${b.peerId}`, true)))[0])
  }
  rows.push({ metric: 'streaming first-token overhead A → B, p50', value: median(ttftAB) - median(ttftDirect), unit: 'ms', target: 'info', pass: true, detail: `direct ${round(median(ttftDirect))} ms, via A → B ${round(median(ttftAB))} ms` })
  const CHUNKS = 5000
  upstream.setBehaviour({ reply: Array.from({ length: CHUNKS }, (_, i) => ` w${i}`) })
  const [, longDirect] = await post(`${upstream.url}/v1/chat/completions`, body('bench-chat', true))
  const [, longAB] = await post(`${a.apiUrl}/v1/chat/completions`, body(`bench-chat@${b.peerId}`, true))
  upstream.setBehaviour({ reply: ['ok'] })
  rows.push({ metric: 'sustained streamed chunks/s A → B', value: CHUNKS / (longAB / 1000), unit: 'chunks/s', target: 'info', pass: true, detail: `direct ${round(CHUNKS / (longDirect / 1000))} chunks/s` })

  // 4. 32 concurrent clients through A → B
  const CONCURRENCY = 32
  const PER_CLIENT = Math.max(10, Math.floor(N / 8))
  const rssBefore = process.memoryUsage().rss
  const started = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = 0; i < PER_CLIENT; i++) await post(`${a.apiUrl}/v1/chat/completions`, body(`bench-chat@${b.peerId}`))
  }))
  const rps = (CONCURRENCY * PER_CLIENT) / ((performance.now() - started) / 1000)
  const rss = process.memoryUsage().rss
  rows.push({ metric: 'requests/s, 32 concurrent clients, A → B', value: rps, unit: 'req/s', target: 'info', pass: true, detail: `${CONCURRENCY * PER_CLIENT} requests; both nodes, upstream and clients in this one process` })
  rows.push({ metric: 'RSS after the concurrent run (A + B + upstream)', value: rss / 2 ** 20, unit: 'MiB', target: 'info', pass: true, detail: `before ${round(rssBefore / 2 ** 20)} MiB` })
} finally {
  await swarm.stop()
  await upstream.close()
  agent.destroy()
}
report('gateway', rows)
