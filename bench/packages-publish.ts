/**
 * Publish part of the packages benchmark: one SIZE MiB file of random bytes
 * published by a full node (assemble → PackageService.publish: walk and
 * stat, UnixFS import with the unixfs-v1-2025 profile into Helia's
 * blockstore on disk with the file's plain sha256 in the same read, the
 * manifest signed and stored, the package pinned, catalogued, gossiped).
 * A fresh node (empty blockstore) for each run. Bar: ≥ 0.3× `sha256sum` of
 * the same file, timed just before each publish of the same run (the real
 * binary, spawned; the file is in the page cache for both). Beside it, for
 * where the time goes: the bare importer into a bare FsBlockstore (no plain
 * sha256, no pin, no catalogue).
 *
 * Alone: PATH=$PWD/node_modules/.bin:$PATH node bench/packages-publish.ts
 * (BENCH_PUBLISH_MIB=n sets the size, default 256; BENCH_RUNS=n, default 3.)
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createReadStream, openSync, closeSync, writeSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { importFile } from 'ipfs-unixfs-importer'
import { IMPORT_PROFILE } from '../src/packages/constants.ts'
import { TestSwarm, tempDir } from '../test/harness/nodes.ts'
import { median, report, round, type BenchRow } from './lib.ts'

const MIB = 1024 * 1024

/** A file of `mib` MiB of random bytes, written 1 MiB at a time. */
function randomFile (dir: string, mib: number): string {
  const path = join(dir, 'model.gguf')
  const fd = openSync(path, 'w')
  try {
    for (let i = 0; i < mib; i++) writeSync(fd, randomBytes(MIB))
  } finally {
    closeSync(fd)
  }
  return path
}

/** Seconds `sha256sum` takes over the file (the real binary). */
function sha256sumSeconds (path: string): number {
  const started = performance.now()
  const result = spawnSync('sha256sum', [path], { encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`sha256sum failed: ${result.stderr}`)
  return (performance.now() - started) / 1000
}

/** Seconds the bare importer takes into a fresh FsBlockstore. */
async function bareImportSeconds (path: string, dir: string): Promise<number> {
  const blocks = new FsBlockstore(dir)
  await blocks.open()
  const started = performance.now()
  await importFile({ content: createReadStream(path, { highWaterMark: MIB }) }, blocks, IMPORT_PROFILE)
  return (performance.now() - started) / 1000
}

export async function publishRows (mib = Number(process.env.BENCH_PUBLISH_MIB ?? 256), runs = Number(process.env.BENCH_RUNS ?? 3)): Promise<BenchRow[]> {
  const dir = tempDir('agora-bench-publish-')
  const swarm = new TestSwarm()
  try {
    const file = randomFile(dir, mib)
    sha256sumSeconds(file) // warm the page cache
    const publish: number[] = []
    const sums: number[] = []
    const bare: number[] = []
    for (let run = 0; run < runs; run++) {
      sums.push(sha256sumSeconds(file))
      const node = await swarm.add()
      const started = performance.now()
      await node.components.packages.publish({ path: file, name: 'bench/model', version: `1.0.${run}`, kind: 'model' })
      publish.push((performance.now() - started) / 1000)
      await swarm.stopNode(node)
      const bareDir = join(dir, `bare-${run}`)
      bare.push(await bareImportSeconds(file, bareDir))
      rmSync(bareDir, { recursive: true, force: true })
    }
    const mb = mib * MIB / 1e6
    const publishRate = mb / median(publish)
    const sumRate = mb / median(sums)
    const ratio = publishRate / sumRate
    return [{
      metric: `publish (import) ${mib} MiB, ratio to sha256sum`,
      value: ratio,
      unit: '×',
      target: '≥ 0.3',
      pass: ratio >= 0.3,
      detail: `publish ${round(publishRate)} MB/s; sha256sum ${round(sumRate)} MB/s (same run); bare importer into FsBlockstore ${round(mb / median(bare))} MB/s; medians of ${runs}`
    }]
  } finally {
    await swarm.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  report('packages-publish', await publishRows())
}
