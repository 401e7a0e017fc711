/**
 * Start-up and CLI latency, against `node -e 0` measured in the same run:
 * - cold start: spawn `agora start` on a fresh data dir (key made, store
 *   migrated) until GET /readyz answers 200 — bar: median < 1500 ms;
 * - `agora status --json` wall time against a running node — bar: at most
 *   2.5× `node -e 0` (target < 150 ms).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { median, percentile, report, round } from './lib.ts'

// bin/agora.js is what users run (npx agora, npm start): it turns the compile cache on first
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'agora.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 10)

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise(resolve => server.close(resolve))
  return port
}

function readyz (port: number): Promise<number> {
  return new Promise(resolve => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', timeout: 1000 }, res => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', () => resolve(0))
    req.end()
  })
}

function startNode (dataDir: string, port: number): ChildProcess {
  return spawn(process.execPath, [CLI, 'start', '--data-dir', dataDir, '--api-port', String(port), '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--log-level', 'warn'], { stdio: 'ignore' })
}

async function stopNode (child: ChildProcess): Promise<void> {
  const exited = new Promise(resolve => child.once('exit', resolve))
  child.kill('SIGTERM')
  await exited
}

async function coldStartMs (): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agora-bench-'))
  const port = await freePort()
  const start = performance.now()
  const child = startNode(dataDir, port)
  try {
    while (await readyz(port) !== 200) {
      if (child.exitCode !== null) throw new Error('the node exited during start-up')
      if (performance.now() - start > 30_000) throw new Error('no readyz within 30 s')
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    return performance.now() - start
  } finally {
    await stopNode(child)
    rmSync(dataDir, { recursive: true, force: true })
  }
}

function wallMs (args: string[]): number {
  const start = performance.now()
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' })
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}`)
  return performance.now() - start
}

const baseline: number[] = []
const cold: number[] = []
for (let i = 0; i < RUNS; i++) {
  baseline.push(wallMs(['-e', '0']))
  cold.push(await coldStartMs())
}

const dataDir = mkdtempSync(join(tmpdir(), 'agora-bench-'))
const port = await freePort()
const node = startNode(dataDir, port)
while (await readyz(port) !== 200) await new Promise(resolve => setTimeout(resolve, 20))
const status: number[] = []
const plain: number[] = []
for (let i = 0; i < RUNS * 2; i++) {
  plain.push(wallMs(['-e', '0']))
  status.push(wallMs([CLI, 'status', '--json', '--data-dir', dataDir]))
}
await stopNode(node)
rmSync(dataDir, { recursive: true, force: true })

const ratio = median(status) / median(plain)
report('startup', [
  { metric: 'cold start to readyz 200', value: median(cold), unit: 'ms', target: '< 1500', pass: median(cold) < 1500, detail: `p90 ${round(percentile(cold, 90))} ms; node -e 0: ${round(median(baseline))} ms; n=${RUNS}` },
  { metric: 'agora status --json wall time', value: median(status), unit: 'ms', target: '< 150 (aim)', pass: true, detail: `p90 ${round(percentile(status, 90))} ms; n=${status.length}` },
  { metric: 'status / node -e 0', value: ratio, unit: 'x', target: '<= 2.5', pass: ratio <= 2.5, detail: `node -e 0 median ${round(median(plain))} ms` }
], { samples: { cold, baseline, status, plain } })
