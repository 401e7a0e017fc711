/**
 * Install part of the packages benchmark: a SIZE MiB random package (one
 * file, the unixfs-v1-2025 profile: 1 MiB raw leaves) held by 2 provider
 * processes (bench/packages-install-provider.ts: real libp2p on loopback,
 * Helia blocks on disk, /agora/blocks/1 served), installed by a node in
 * this process: fetched from both, each block hashed against its CID and
 * stored, the file written atomically into the package store and its
 * sha256 checked. Bar: ≥ 100 MB/s, and ≥ 0.3× a raw TCP copy of the same
 * bytes from a provider process to this one (node:net, same run) — the
 * baseline beside it. Medians over RUNS installs, a fresh installing node
 * each (so nothing is held before).
 *
 * Alone: PATH=$PWD/node_modules/.bin:$PATH node bench/packages-install.ts
 * (BENCH_INSTALL_MIB=n sets the size, default 256; BENCH_RUNS=n, default 3.)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import type { Manifest } from '../src/packages/manifest.ts'
import { signPackage } from '../src/packages/package-envelope.ts'
import { createInstallNode } from '../test/harness/install-nodes.ts'
import { tempDir } from '../test/harness/temp.ts'
import { median, report, round, type BenchRow } from './lib.ts'
import { rawStreamCopy } from './packages-install-floor.ts'

const MiB = 1024 * 1024
const PROVIDER = join(fileURLToPath(new URL('.', import.meta.url)), 'packages-install-provider.ts')

interface Provider {
  child: ChildProcess
  address: string
  files: Manifest['files']
  tcpPort: number
}

export async function installRows (): Promise<BenchRow[]> {
  const sizeMiB = Number(process.env.BENCH_INSTALL_MIB ?? 256)
  const runs = Number(process.env.BENCH_RUNS ?? 3)
  const bytes = sizeMiB * MiB
  const dir = tempDir('agora-bench-install-')
  const file = join(dir, 'model.gguf')
  writeFileSync(file, randomBytes(bytes))
  const providers: Provider[] = []
  const installs: number[] = []
  const copies: number[] = []
  /** A bare libp2p stream from every provider at once: what the transport allows. */
  const floors: number[] = []
  /** Seconds fetching (resolve included) + seconds writing the files, per run. */
  const phases: string[] = []
  try {
    providers.push(...await Promise.all([startProvider(file), startProvider(file)]))
    const files = (providers[0] as Provider).files
    for (let run = 0; run < runs; run++) {
      const c = await createInstallNode({ cacheBytes: 4 * bytes, maxPackageBytes: 4 * bytes })
      try {
        for (const p of providers) await c.node.libp2p.dial(multiaddr(p.address))
        // published by the installing node itself (no reputation to weigh), held by the two providers
        const manifest: Manifest = { v: 1, name: 'bench/model', version: '1.0.0', kind: 'model', description: '', license: '', tags: [], created: Date.now(), publisher: c.peerId, files, dependencies: {} }
        const { envelope, cid, bytes: manifestBytes } = await signPackage(c.identity, manifest)
        c.packages.put({ cid: cid.toString(), manifest, envelope, bytes: manifestBytes }, Date.now())
        for (const p of providers) c.packages.addProvider(cid.toString(), p.address.split('/p2p/')[1] as string, Date.now())
        const started = performance.now()
        let writing = 0
        const installed = await c.installer.install({ spec: 'bench/model@1.0.0', onProgress: p => { if (p.phase === 'write' && writing === 0) writing = performance.now() } })
        const ended = performance.now()
        installs.push(bytes / 1e6 / ((ended - started) / 1000))
        phases.push(`${round((writing - started) / 1000, 2)} s + ${round((ended - writing) / 1000, 2)} s`)
        if (installed.size !== bytes) throw new Error('installed size differs')
        floors.push(await rawStreamCopy(c.node.libp2p, providers.map(p => p.address), bytes))
      } finally {
        await c.stop()
      }
      copies.push(await tcpCopy((providers[run % 2] as Provider).tcpPort, bytes))
    }
  } finally {
    for (const p of providers) p.child.stdin?.end()
    await Promise.all(providers.map(async p => { if (p.child.exitCode === null) await once(p.child, 'exit') }))
    rmSync(dir, { recursive: true, force: true })
  }
  const rate = median(installs)
  const tcp = median(copies)
  const ratio = rate / tcp
  const floor = median(floors)
  return [
    { metric: `install ${sizeMiB} MiB from 2 providers over loopback`, value: round(rate, 1), unit: 'MB/s', target: '≥ 100 MB/s', pass: rate >= 100, detail: `runs ${installs.map(r => round(r, 1)).join(', ')} (fetch + write: ${phases.join('; ')}); /agora/blocks/1, every block hashed and stored, the file written, fsynced and its sha256 checked` },
    { metric: 'install rate ÷ bare libp2p stream (Noise + Yamux) from the same providers', value: round(rate / floor, 2), unit: '×', target: 'info', pass: true, detail: `floor: ${round(floor, 0)} MB/s (runs ${floors.map(r => round(r, 0)).join(', ')}), the same bytes from both providers at once, no protocol on top` },
    { metric: 'install rate ÷ raw TCP copy of the same bytes', value: round(ratio, 2), unit: '×', target: '≥ 0.3×', pass: ratio >= 0.3, detail: `baseline: node:net copy provider → installer ${round(tcp, 0)} MB/s (runs ${copies.map(r => round(r, 0)).join(', ')})` }
  ]
}

async function startProvider (file: string): Promise<Provider> {
  const child = spawn(process.execPath, [PROVIDER, file], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const timer = setTimeout(() => { child.kill() }, 120_000)
  try {
    for await (const line of lines) {
      const info = JSON.parse(line) as Omit<Provider, 'child'>
      return { child, ...info }
    }
  } finally {
    clearTimeout(timer)
  }
  throw new Error('the provider process exited before it was ready')
}

/** MB/s of reading `bytes` from a provider's TCP server (it sends the file and closes). */
async function tcpCopy (port: number, bytes: number): Promise<number> {
  const started = performance.now()
  const socket = connect(port, '127.0.0.1')
  let received = 0
  socket.on('data', (chunk: Buffer) => { received += chunk.byteLength })
  await once(socket, 'end')
  if (received !== bytes) throw new Error(`tcp copy got ${received} of ${bytes} bytes`)
  return bytes / 1e6 / ((performance.now() - started) / 1000)
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  report('packages-install', await installRows())
}
